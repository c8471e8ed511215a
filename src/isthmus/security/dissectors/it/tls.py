"""TLS by its record layer: the ClientHello (offered version, SNI, ALPN) and the
ServerHello (selected version and cipher suite). Encrypted records are framed, not read."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any

from isthmus.security.dissectors.base import Match, Output
from isthmus.security.dissectors.cursor import Cursor
from isthmus.security.dissectors.message_event import MessageEvent
from isthmus.security.dissectors.message_session import Malformed, MessageSession
from isthmus.security.events import FlowKey

__all__ = ["VERSIONS", "TlsDissector", "TlsEvent", "TlsSession"]

VERSIONS = {0x0300: "ssl3.0", 0x0301: "tls1.0", 0x0302: "tls1.1", 0x0303: "tls1.2",
            0x0304: "tls1.3"}
_RECORD = struct.Struct(">BHH")
_MAX_RECORD = (1 << 14) + 2048
_CONTENT_TYPES = frozenset({20, 21, 22, 23, 24})


@dataclass
class TlsEvent(MessageEvent):
    pass


def _record_length(buf: bytes, pos: int) -> int | None:
    if len(buf) - pos < 5:
        return None
    kind, version, length = _RECORD.unpack_from(buf, pos)
    if kind not in _CONTENT_TYPES or version >> 8 != 3 or (version & 0xFF) > 4:
        raise Malformed("bad-record", f"not a TLS record: type {kind}, version {version:#06x}")
    if length > _MAX_RECORD:
        raise Malformed("bad-length", f"TLS record length {length}", 3)
    return int(length) + 5


def _extensions(cur: Cursor, detail: dict[str, Any], *, client: bool) -> None:
    end = cur.pos + cur.u16("extensions length")
    while cur.pos + 4 <= min(end, len(cur.data)):
        kind, size = cur.u16("extension type"), cur.u16("extension length")
        body = Cursor(cur.take(size, "extension"))
        if kind == 0 and client and body.left >= 5:            # server_name
            body.take(3, "server name list")
            detail["sni"] = body.text(body.u16("host name length"), "host name")[:253]
        elif kind == 16 and body.left >= 2:                       # ALPN
            body.u16("protocol list length")
            names: list[str] = []
            while body.left and len(names) < 16:
                names.append(body.text(body.u8("protocol length"), "protocol"))
            detail["alpn"] = names
        elif kind == 43 and body.left >= 2:                       # supported_versions
            if client:
                count = body.u8("versions length") // 2
                offered = [body.u16("version") for _ in range(count)]
                detail["supported_versions"] = [VERSIONS.get(v, f"{v:#06x}") for v in offered
                                                if v & 0x0F0F != 0x0A0A]     # not GREASE
            else:
                version = body.u16("selected version")
                detail["version"] = VERSIONS.get(version, f"{version:#06x}")


class TlsSession(MessageSession):
    protocol = "tls"
    event_type = TlsEvent
    max_message = _MAX_RECORD + 5

    def __init__(self, to_server: FlowKey, *, midstream: bool) -> None:
        super().__init__(to_server, midstream=midstream)
        self._encrypted = [midstream, midstream]

    def frame(self, buf: bytes, pos: int, to_server: bool) -> int | None:
        return _record_length(buf, pos)

    def sync(self, buf: bytes, pos: int, to_server: bool) -> int | None:
        """A record header (type, 0x03, minor version) that chains, found with `find`."""
        while True:
            found = buf.find(b"\x03", pos + 1)
            if found < 0:
                return None
            start = found - 1
            if buf[start] in _CONTENT_TYPES and self.confirmed(buf, start, to_server):
                return start
            pos = found

    def message(self, msg: bytes, to_server: bool, ts_ns: int, offset: int) -> Output:
        side = 1 if to_server else 0
        if msg[0] == 20:
            self._encrypted[side] = True
        if msg[0] != 22 or self._encrypted[side] or len(msg) < 10 or msg[5] not in (1, 2):
            return []
        client = msg[5] == 1
        cur = Cursor(msg, 9)
        version = cur.u16("version")
        detail: dict[str, Any] = {"version": VERSIONS.get(version, f"{version:#06x}")}
        cur.take(32, "random")
        cur.take(cur.u8("session id length"), "session id")
        if client:
            detail["cipher_suites"] = cur.u16("cipher suites length") // 2
            cur.take(detail["cipher_suites"] * 2, "cipher suites")
            cur.take(cur.u8("compression methods length"), "compression methods")
        else:
            detail["cipher_suite"] = f"{cur.u16('cipher suite'):#06x}"
            cur.u8("compression method")
        if cur.left >= 2:
            try:
                _extensions(cur, detail, client=client)
            except Malformed:
                detail["extensions_truncated"] = True       # continued in the next record
        event = self.event(to_server, ts_ns, offset, len(msg),
                           "client_hello" if client else "server_hello", "session",
                           detail=detail, address=detail.get("sni"))
        return [event]


class TlsDissector:
    name = "tls"
    tcp_ports = frozenset({443, 8883, 4843, 636, 993, 995, 5061})

    def match(self, to_server: bytes, to_client: bytes, *, midstream: bool) -> Match:
        buf = to_server
        if len(buf) < 6:
            return Match.MAYBE if buf[:1] in (b"", b"\x16") else Match.NO
        try:
            _record_length(buf, 0)
        except Malformed:
            return Match.NO
        if midstream:
            return Match.YES if buf[0] in (22, 23) else Match.NO
        return Match.YES if buf[0] == 22 and buf[5] == 1 else Match.NO

    def session(self, to_server: FlowKey, *, midstream: bool) -> TlsSession:
        return TlsSession(to_server, midstream=midstream)
