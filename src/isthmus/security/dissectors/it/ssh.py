"""SSH by its identification banner ("SSH-2.0-OpenSSH_9.6"): the software on each side.
Everything after the banner is the binary packet protocol and is not read."""

from __future__ import annotations

from dataclasses import dataclass

from isthmus.security.dissectors.base import Match, Output
from isthmus.security.dissectors.message_event import MessageEvent
from isthmus.security.dissectors.message_session import Malformed, MessageSession
from isthmus.security.events import FlowKey

__all__ = ["SshDissector", "SshEvent", "SshSession"]

_MAX_LINE = 255          # RFC 4253 §4.2


@dataclass
class SshEvent(MessageEvent):
    pass


class SshSession(MessageSession):
    protocol = "ssh"
    event_type = SshEvent
    max_message = _MAX_LINE

    def frame(self, buf: bytes, pos: int, to_server: bool) -> int | None:
        end = buf.find(b"\n", pos, pos + _MAX_LINE + 1)
        return None if end < 0 else end + 1 - pos

    def sync(self, buf: bytes, pos: int, to_server: bool) -> int | None:
        return None                      # mid-stream there is no banner left to read

    def message(self, msg: bytes, to_server: bool, ts_ns: int, offset: int) -> Output:
        line = msg.rstrip(b"\r\n").decode("utf-8", "replace")
        if not line.startswith("SSH-"):
            return []                    # servers may send other lines before the banner
        self.stop(to_server)
        parts = line.split("-", 2)
        if len(parts) < 3:
            raise Malformed("bad-banner", f"SSH banner {line[:60]!r}")
        software, _, comment = parts[2].partition(" ")
        detail = {"protocol_version": parts[1], "software": software}
        if comment:
            detail["comment"] = comment[:100]
        identity = {"software": software} if not to_server else None
        return [self.event(to_server, ts_ns, offset, len(msg), "banner", "session",
                           detail=detail, identity=identity)]


class SshDissector:
    name = "ssh"
    tcp_ports = frozenset({22})

    def match(self, to_server: bytes, to_client: bytes, *, midstream: bool) -> Match:
        if midstream:
            return Match.NO
        if to_client.startswith(b"SSH-") or to_server.startswith(b"SSH-"):
            return Match.YES
        for buf in (to_client, to_server):
            if buf and not b"SSH-".startswith(buf[:4]):
                return Match.NO
        return Match.MAYBE

    def session(self, to_server: FlowKey, *, midstream: bool) -> SshSession:
        return SshSession(to_server, midstream=midstream)
