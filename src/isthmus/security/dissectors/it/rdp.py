"""RDP connection requests: TPKT + X.224 Connection Request carrying a
"Cookie: mstshash=" and/or an RDP_NEG_REQ (requested security protocols), and the
Connection Confirm's selected protocol. Strict on purpose: a TPKT/COTP connection request
without those (S7comm, other ISO-on-TCP) is not RDP."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any

from isthmus.security.dissectors.base import Match, Output
from isthmus.security.dissectors.message_event import MessageEvent
from isthmus.security.dissectors.message_session import Malformed, MessageSession
from isthmus.security.events import FlowKey

__all__ = ["PROTOCOLS", "RdpDissector", "RdpEvent", "RdpSession", "is_rdp_request"]

PROTOCOLS = {0x01: "tls", 0x02: "credssp", 0x04: "rdstls", 0x08: "credssp_ex",
             0x10: "rdsaad"}
_NEG = struct.Struct("<BBHI")          # type, flags, length (8), protocols
_COOKIE = b"Cookie: mstshash="


@dataclass
class RdpEvent(MessageEvent):
    pass


def _tpkt_length(buf: bytes, pos: int) -> int | None:
    if len(buf) - pos < 4:
        return None
    if buf[pos] != 3 or buf[pos + 1] != 0:
        raise Malformed("bad-tpkt", f"TPKT version {buf[pos]}")
    length = int.from_bytes(buf[pos + 2:pos + 4], "big")
    if length < 7:
        raise Malformed("bad-length", f"TPKT length {length}", 2)
    return length


def _negotiation(tpdu: bytes) -> tuple[int, int] | None:
    """(type, protocols) of an RDP_NEG_REQ/RSP/FAILURE ending the TPDU, if there is one."""
    if len(tpdu) < 7 + _NEG.size:
        return None
    kind, _flags, length, protocols = _NEG.unpack_from(tpdu, len(tpdu) - _NEG.size)
    if kind in (1, 2, 3) and length == 8 and protocols < 0x100:
        return kind, protocols
    return None


def is_rdp_request(tpkt: bytes) -> bool:
    """A TPKT holding an X.224 Connection Request with an RDP cookie or negotiation."""
    if len(tpkt) < 11 or tpkt[5] != 0xE0:
        return False
    tpdu = tpkt[4:]
    return tpdu[7:].startswith((_COOKIE, b"Cookie: msts")) or _negotiation(tpdu) is not None


def _names(protocols: int) -> list[str]:
    return [name for bit, name in PROTOCOLS.items() if protocols & bit] or ["rdp"]


class RdpSession(MessageSession):
    protocol = "rdp"
    event_type = RdpEvent
    max_message = 0xFFFF

    def frame(self, buf: bytes, pos: int, to_server: bool) -> int | None:
        return _tpkt_length(buf, pos)

    def message(self, msg: bytes, to_server: bool, ts_ns: int, offset: int) -> Output:
        code = msg[5] & 0xF0
        detail: dict[str, Any] = {}
        negotiation = _negotiation(msg[4:])
        if code == 0xE0:
            rest = msg[11:]
            if rest.startswith(_COOKIE):
                detail["cookie_user"] = rest[len(_COOKIE):].split(b"\r\n")[0].decode(
                    "latin-1")[:64]
            if negotiation is not None:
                detail["requested_protocols"] = _names(negotiation[1])
            name = "connection_request"
        elif code == 0xD0:
            if negotiation is not None and negotiation[0] == 2:
                detail["selected_protocol"] = _names(negotiation[1])[0]
            elif negotiation is not None:
                detail["failure_code"] = negotiation[1]
            name = "connection_confirm"
            self.stop(True)                 # TLS/CredSSP follows in both directions
            self.stop(False)
        else:
            return []
        return [self.event(to_server, ts_ns, offset, len(msg), name, "session",
                           detail=detail)]


class RdpDissector:
    name = "rdp"
    tcp_ports = frozenset({3389})

    def match(self, to_server: bytes, to_client: bytes, *, midstream: bool) -> Match:
        if midstream:
            return Match.NO
        try:
            length = _tpkt_length(to_server, 0)
        except Malformed:
            return Match.NO
        if length is None or len(to_server) < length:
            return Match.MAYBE
        return Match.YES if is_rdp_request(to_server[:length]) else Match.NO

    def session(self, to_server: FlowKey, *, midstream: bool) -> RdpSession:
        return RdpSession(to_server, midstream=midstream)
