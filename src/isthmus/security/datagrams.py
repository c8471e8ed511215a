"""UDP datagrams to protocol events: the dissector of the well-known port (destination,
then source) if the payload is that protocol, else the first whose content matches."""

from __future__ import annotations

from isthmus.security.dissectors.base import DatagramDissector, Output
from isthmus.security.dissectors.registry import DATAGRAM_DISSECTORS
from isthmus.security.events import FlowKey

__all__ = ["dissect_datagram"]

_BY_PORT: dict[int, DatagramDissector] = {}
for _dissector in reversed(DATAGRAM_DISSECTORS):
    for _port in _dissector.udp_ports:
        _BY_PORT[_port] = _dissector


def dissect_datagram(payload: bytes, flow: FlowKey, ts_ns: int) -> Output | None:
    """Events for one datagram (anomalies when the protocol it matched finds it
    malformed), or None when no dissector recognises it."""
    if not payload:
        return None
    for port in (flow.dport, flow.sport):
        hinted = _BY_PORT.get(port)
        if hinted is not None and hinted.match_datagram(payload):
            return hinted.parse_datagram(payload, flow, ts_ns)
    for dissector in DATAGRAM_DISSECTORS:
        if dissector.match_datagram(payload):
            return dissector.parse_datagram(payload, flow, ts_ns)
    return None
