"""The dissector interface: recognise a protocol in a TCP stream, then turn its bytes into
protocol events. Dissectors are pure over bytes (no I/O) and never raise on bad input:
a malformed message becomes an `Anomaly` event."""

from __future__ import annotations

import enum
from typing import Protocol

from isthmus.security.events import Anomaly, FlowKey, ProtocolEvent

__all__ = ["DatagramDissector", "Dissector", "DissectorSession", "Match", "Output"]

Output = list[ProtocolEvent | Anomaly]


class Match(enum.Enum):
    YES = "yes"          # the bytes are this protocol
    NO = "no"            # they are not
    MAYBE = "maybe"      # not enough bytes yet to say


class DissectorSession(Protocol):
    """One TCP connection's parser state (partial messages, pending requests)."""

    def parse(self, data: bytes, *, to_server: bool, ts_ns: int) -> Output:
        """Events for the in-order stream bytes `data` sent in one direction."""
        ...

    def gap(self, *, to_server: bool, missing: int, ts_ns: int) -> Output:
        """`missing` bytes were lost in that direction: drop partial state, resynchronise."""
        ...


class Dissector(Protocol):
    name: str

    @property
    def tcp_ports(self) -> frozenset[int]:
        """Ports that hint at the protocol; content decides, on these and on others."""
        ...

    def match(self, to_server: bytes, to_client: bytes, *, midstream: bool) -> Match:
        """Whether the first bytes of a connection (each direction) are this protocol."""
        ...

    def session(self, to_server: FlowKey, *, midstream: bool) -> DissectorSession:
        """A parser for one connection; `to_server` is its client → server direction."""
        ...


class DatagramDissector(Protocol):
    """A UDP protocol: each datagram is one or more whole messages, with no session."""

    name: str
    udp_ports: frozenset[int]       # a hint only: content decides on other ports

    def match_datagram(self, payload: bytes) -> bool:
        """Whether this datagram's payload is this protocol (cheap, no exception)."""
        ...

    def parse_datagram(self, payload: bytes, flow: FlowKey, ts_ns: int) -> Output:
        """Events for one datagram sent along `flow`; malformed input → `Anomaly`."""
        ...
