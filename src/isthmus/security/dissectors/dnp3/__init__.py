"""DNP3 over TCP dissector: link layer (CRCs verified), transport reassembly and the
application layer (function codes, IIN, object headers, CROB and analog output values)."""

from __future__ import annotations

from typing import ClassVar

from isthmus.security.dissectors.base import Match
from isthmus.security.dissectors.dnp3.application import Apdu, ApduError, parse_apdu
from isthmus.security.dissectors.dnp3.link import crc, match_streams
from isthmus.security.dissectors.dnp3.names import FUNCTIONS
from isthmus.security.dissectors.dnp3.session import Dnp3Event, Dnp3Session
from isthmus.security.events import FlowKey

__all__ = ["FUNCTIONS", "Apdu", "ApduError", "Dnp3Dissector", "Dnp3Event", "Dnp3Session",
           "crc", "parse_apdu"]


class Dnp3Dissector:
    """DNP3 over TCP, recognised by content on any port (port 20000 is only a hint)."""

    name = "dnp3"
    tcp_ports: ClassVar[frozenset[int]] = frozenset({20000})

    def match(self, to_server: bytes, to_client: bytes, *, midstream: bool) -> Match:
        return match_streams(to_server, to_client, midstream=midstream)

    def session(self, to_server: FlowKey, *, midstream: bool) -> Dnp3Session:
        return Dnp3Session(to_server, midstream=midstream)
