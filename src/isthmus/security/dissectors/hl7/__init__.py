"""HL7 v2 over MLLP dissector: message header and acknowledgements, so that medical
devices (the sending applications) enter the inventory. Patient data is never reported."""

from __future__ import annotations

from isthmus.security.dissectors.base import Match
from isthmus.security.dissectors.hl7.session import ACK_CODES, Hl7Event, Hl7Session
from isthmus.security.events import FlowKey

__all__ = ["ACK_CODES", "Hl7Dissector", "Hl7Event", "Hl7Session"]

_MAGIC = b"\x0bMSH"


class Hl7Dissector:
    name = "hl7"
    tcp_ports = frozenset({2575})

    def match(self, to_server: bytes, to_client: bytes, *, midstream: bool) -> Match:
        for buf in (to_server, to_client) if midstream else (to_server,):
            found = buf.find(_MAGIC)
            if (found == 0 or (midstream and found > 0)) and len(buf) >= found + 8:
                return Match.YES if buf[found + 7:found + 8].isascii() else Match.NO
        if not midstream and not _MAGIC.startswith(to_server[:4]):
            return Match.NO
        return Match.MAYBE

    def session(self, to_server: FlowKey, *, midstream: bool) -> Hl7Session:
        return Hl7Session(to_server, midstream=midstream)
