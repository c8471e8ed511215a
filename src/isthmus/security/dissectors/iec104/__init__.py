"""IEC 60870-5-104 dissector: APCI U/S/I frames, ASDU type ids (monitor, command, system,
parameter and file types), causes of transmission and command values."""

from __future__ import annotations

from isthmus.security.dissectors.base import Match
from isthmus.security.dissectors.iec104.apdu import Apdu, ApduError, apdu_length, parse_apdu
from isthmus.security.dissectors.iec104.names import CAUSES, TYPES, U_FUNCTIONS
from isthmus.security.dissectors.iec104.session import Iec104Event, Iec104Session, find_sync
from isthmus.security.events import FlowKey

__all__ = ["CAUSES", "TYPES", "U_FUNCTIONS", "Apdu", "ApduError", "Iec104Dissector",
           "Iec104Event", "Iec104Session", "parse_apdu"]

_MIN_APDUS = 2


class Iec104Dissector:
    """IEC 104, recognised by content on any port (port 2404 is only a hint): two
    well-formed APDUs over both directions, or one STARTDT/TESTFR U-frame, and no
    malformed APCI before them."""

    name = "iec104"
    tcp_ports = frozenset({2404})

    def match(self, to_server: bytes, to_client: bytes, *, midstream: bool) -> Match:
        total = 0
        for buf in (to_server, to_client):
            start = 0
            if midstream and buf:
                found, _keep = find_sync(buf, 0)
                if found is None:
                    continue
                start = found
            count, bad, u_frame = _chain(buf, start)
            if bad:
                return Match.NO
            if u_frame:
                return Match.YES
            total += count
        return Match.YES if total >= _MIN_APDUS else Match.MAYBE

    def session(self, to_server: FlowKey, *, midstream: bool) -> Iec104Session:
        return Iec104Session(to_server, midstream=midstream)


def _chain(buf: bytes, start: int) -> tuple[int, bool, bool]:
    """(complete APDUs chained from `start`, whether a bad APCI was hit, whether one was a
    STARTDT/TESTFR U-frame)."""
    count, pos = 0, start
    while pos < len(buf):
        if buf[pos] != 0x68 or (pos + 1 < len(buf) and not 4 <= buf[pos + 1] <= 253):
            return count, True, False
        if pos + 6 > len(buf):
            break
        size = apdu_length(buf, pos)
        if size is None:
            return count, True, False
        if pos + size > len(buf):
            break
        if size == 6 and buf[pos + 2] in (0x07, 0x0B, 0x43, 0x83):
            return count + 1, False, True
        count, pos = count + 1, pos + size
    return count, False, False
