"""S7 dissector: TPKT (RFC 1006) and COTP with reassembly of segmented messages, S7comm
(setup, read/write var, block download/upload, PLC control and stop, SZL reads with
module identification) and S7comm-plus classified by opcode and function."""

from __future__ import annotations

from typing import ClassVar

from isthmus.security.dissectors.base import Match
from isthmus.security.dissectors.s7.names import FUNCTIONS, PLUS_FUNCTIONS
from isthmus.security.dissectors.s7.s7comm import S7Error, S7Message, parse_s7comm
from isthmus.security.dissectors.s7.s7plus import PlusMessage, parse_s7plus
from isthmus.security.dissectors.s7.session import S7Event, S7Session
from isthmus.security.dissectors.s7.transport import match_streams
from isthmus.security.events import FlowKey

__all__ = ["FUNCTIONS", "PLUS_FUNCTIONS", "PlusMessage", "S7Dissector", "S7Error", "S7Event",
           "S7Message", "S7Session", "parse_s7comm", "parse_s7plus"]


class S7Dissector:
    """S7comm / S7comm-plus over ISO-on-TCP, recognised by content on any port (port 102
    is only a hint); RDP and MMS, which share TPKT/COTP, are left alone."""

    name = "s7"
    tcp_ports: ClassVar[frozenset[int]] = frozenset({102})

    def match(self, to_server: bytes, to_client: bytes, *, midstream: bool) -> Match:
        return match_streams(to_server, to_client, midstream=midstream)

    def session(self, to_server: FlowKey, *, midstream: bool) -> S7Session:
        return S7Session(to_server, midstream=midstream)
