"""DICOM upper-layer dissector: associations (AE titles, implementation class and version,
so imaging devices enter the inventory), DIMSE commands (C-ECHO, C-STORE, C-FIND, C-MOVE,
C-GET, N-*), release and abort. Recognised by content on any port."""

from __future__ import annotations

from isthmus.security.dissectors.base import Match
from isthmus.security.dissectors.dicom.names import COMMANDS, PDU_TYPES
from isthmus.security.dissectors.dicom.session import DicomEvent, DicomSession, frame_length
from isthmus.security.dissectors.message_session import Malformed
from isthmus.security.events import FlowKey

__all__ = ["COMMANDS", "PDU_TYPES", "DicomDissector", "DicomEvent", "DicomSession"]


class DicomDissector:
    name = "dicom"
    tcp_ports = frozenset({104, 11112})

    def match(self, to_server: bytes, to_client: bytes, *, midstream: bool) -> Match:
        if midstream:
            return _pdata_chain(to_server)
        if len(to_server) < 10:
            return Match.MAYBE if to_server[:2] in (b"", b"\x01", b"\x01\x00") else Match.NO
        try:
            frame_length(to_server, 0)
        except Malformed:
            return Match.NO
        ok = to_server[0] == 1 and to_server[6:8] == b"\x00\x01" and to_server[10:11].isascii()
        return Match.YES if ok else Match.NO

    def session(self, to_server: FlowKey, *, midstream: bool) -> DicomSession:
        return DicomSession(to_server, midstream=midstream)


def _pdata_chain(buf: bytes) -> Match:
    """Mid-stream: two P-DATA-TF PDUs back to back from the first byte."""
    pos = 0
    for _ in range(2):
        try:
            size = frame_length(buf, pos)
        except Malformed:
            return Match.NO
        if size is None or pos + size > len(buf):
            return Match.MAYBE
        if buf[pos] != 4:
            return Match.NO
        pos += size
    return Match.YES
