"""VNC (RFB) by its protocol-version handshake ("RFB 003.008\\n" from each side). The rest
of the session is not read."""

from __future__ import annotations

import re
from dataclasses import dataclass

from isthmus.security.dissectors.base import Match, Output
from isthmus.security.dissectors.message_event import MessageEvent
from isthmus.security.dissectors.message_session import Malformed, MessageSession
from isthmus.security.events import FlowKey

__all__ = ["VncDissector", "VncEvent", "VncSession"]

_BANNER = re.compile(rb"RFB \d{3}\.\d{3}\n")


@dataclass
class VncEvent(MessageEvent):
    pass


class VncSession(MessageSession):
    protocol = "vnc"
    event_type = VncEvent
    max_message = 12

    def frame(self, buf: bytes, pos: int, to_server: bool) -> int | None:
        if len(buf) - pos < 12:
            return None
        if not _BANNER.fullmatch(buf[pos:pos + 12]):
            raise Malformed("bad-banner", f"not an RFB version: {bytes(buf[pos:pos + 12])!r}")
        return 12

    def sync(self, buf: bytes, pos: int, to_server: bool) -> int | None:
        return None

    def message(self, msg: bytes, to_server: bool, ts_ns: int, offset: int) -> Output:
        self.stop(to_server)
        version = msg[4:11].decode("ascii")
        return [self.event(to_server, ts_ns, offset, 12, "protocol_version", "session",
                           detail={"version": version})]


class VncDissector:
    name = "vnc"
    tcp_ports = frozenset({5900, 5901})

    def match(self, to_server: bytes, to_client: bytes, *, midstream: bool) -> Match:
        if midstream or to_server[:4] not in (b"", b"RFB "[:len(to_server[:4])]):
            return Match.NO
        if len(to_client) < 12:
            return Match.MAYBE if b"RFB ".startswith(to_client[:4]) else Match.NO
        return Match.YES if _BANNER.fullmatch(to_client[:12]) else Match.NO

    def session(self, to_server: FlowKey, *, midstream: bool) -> VncSession:
        return VncSession(to_server, midstream=midstream)
