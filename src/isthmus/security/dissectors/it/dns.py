"""DNS over TCP (two-byte length prefix) and over UDP: query names and types, answers."""

from __future__ import annotations

from dataclasses import dataclass

from isthmus.model import Severity
from isthmus.security.dissectors.base import Match, Output
from isthmus.security.dissectors.it.dns_message import parse_message, plausible
from isthmus.security.dissectors.message_event import MessageEvent
from isthmus.security.dissectors.message_session import (
    Malformed,
    MessageSession,
    parse_guarded,
)
from isthmus.security.events import FlowKey

__all__ = ["DnsDatagramDissector", "DnsDissector", "DnsEvent", "DnsSession", "dns_event"]


@dataclass
class DnsEvent(MessageEvent):
    def summary(self) -> str:
        names = ", ".join(q["name"] for q in self.detail.get("questions", []))
        return f"dns {self.direction} {names}"


def dns_event(msg: bytes, flow: FlowKey, ts_ns: int, offset: int, length: int) -> DnsEvent:
    detail = parse_message(msg)
    questions = detail["questions"]
    return DnsEvent(ts_ns, flow, "dns", "response" if detail["response"] else "request",
                    "read", Severity.INFO, length, function="query",
                    address=questions[0]["name"] if questions else None, detail=detail,
                    offset=offset)


class DnsSession(MessageSession):
    protocol = "dns"
    event_type = DnsEvent
    max_message = 0xFFFF + 2

    def frame(self, buf: bytes, pos: int, to_server: bool) -> int | None:
        if len(buf) - pos < 2:
            return None
        length = int.from_bytes(buf[pos:pos + 2], "big")
        if length < 12:
            raise Malformed("bad-length", f"DNS message length {length}")
        header = buf[pos + 2:pos + 2 + length]
        if len(header) >= 12 and not plausible(header, whole=len(header) == length):
            raise Malformed("bad-header", "not a plausible DNS header", 2)
        return length + 2

    def message(self, msg: bytes, to_server: bool, ts_ns: int, offset: int) -> Output:
        return [dns_event(msg[2:], self._keys[to_server], ts_ns, offset, len(msg))]


class DnsDissector:
    name = "dns"
    tcp_ports = frozenset({53})

    def match(self, to_server: bytes, to_client: bytes, *, midstream: bool) -> Match:
        if midstream:
            return Match.NO
        if len(to_server) < 14:
            return Match.MAYBE
        length = int.from_bytes(to_server[:2], "big")
        if len(to_server) < length + 2:
            return Match.MAYBE if length >= 12 and len(to_server) < 4096 else Match.NO
        return Match.YES if plausible(to_server[2:2 + length]) else Match.NO

    def session(self, to_server: FlowKey, *, midstream: bool) -> DnsSession:
        return DnsSession(to_server, midstream=midstream)


class DnsDatagramDissector:
    name = "dns"
    udp_ports = frozenset({53})

    def match_datagram(self, payload: bytes) -> bool:
        if not plausible(payload):
            return False
        try:
            parse_message(payload)
        except Malformed:
            return False
        return True

    def parse_datagram(self, payload: bytes, flow: FlowKey, ts_ns: int) -> Output:
        return parse_guarded(self.name, flow, ts_ns,
                             lambda: [dns_event(payload, flow, ts_ns, 0, len(payload))])
