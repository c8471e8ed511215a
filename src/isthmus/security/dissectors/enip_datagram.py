"""EtherNet/IP over UDP (port 44818): ListIdentity broadcasts and their answers, and the
other encapsulation commands, parsed by the TCP dissector's session one datagram at a
time (a UDP datagram holds whole encapsulation messages)."""

from __future__ import annotations

from isthmus.security.dissectors.base import Output
from isthmus.security.dissectors.enip import EnipSession
from isthmus.security.dissectors.enip.encapsulation import message_length
from isthmus.security.events import FlowKey

__all__ = ["EnipDatagramDissector"]

_PORT = 44818


class EnipDatagramDissector:
    name = "enip"
    udp_ports = frozenset({_PORT})

    def match_datagram(self, payload: bytes) -> bool:
        """One plausible encapsulation message filling the datagram exactly."""
        return message_length(payload, 0) == len(payload)

    def parse_datagram(self, payload: bytes, flow: FlowKey, ts_ns: int) -> Output:
        to_server = flow.dport == _PORT or flow.sport != _PORT
        # the flow's transport (udp) is kept in the events' flow keys
        session = EnipSession(flow if to_server else flow.reversed(), midstream=False)
        return session.parse(payload, to_server=to_server, ts_ns=ts_ns)
