"""MBAP framing: plausible Modbus/TCP headers, resynchronisation in a byte stream, and
recognition of Modbus/TCP by content (on any port)."""

from __future__ import annotations

import struct

from isthmus.security.dissectors.base import Match
from isthmus.security.dissectors.modbus.names import FUNCTIONS

__all__ = [
    "MAX_LENGTH",
    "MBAP",
    "MBAP_SIZE",
    "adu_length",
    "find_sync",
    "match_streams",
    "valid_function",
]

MBAP = struct.Struct(">HHHB")       # transaction id, protocol id, length, unit id
MBAP_SIZE = 7
MAX_LENGTH = 254                     # unit id + PDU of at most 253 bytes
_MIN_ADUS = 2                        # ADUs needed, over both directions, to say "Modbus"


def valid_function(fc: int) -> bool:
    """A public (or UMAS) function code, or its exception response."""
    return (fc & 0x7F) in FUNCTIONS


def adu_length(buf: bytes, pos: int) -> int | None:
    """The length of the ADU whose header starts at `pos` if that header is plausible
    (protocol id 0, length 2..254, a known function code), else None. Needs 8 bytes."""
    if pos + 8 > len(buf):
        return None
    protocol: int
    length: int
    _tid, protocol, length, _unit = MBAP.unpack_from(buf, pos)
    if protocol != 0 or not 2 <= length <= MAX_LENGTH or not valid_function(buf[pos + 7]):
        return None
    return 6 + length


def find_sync(buf: bytes, start: int) -> tuple[int | None, int]:
    """(position of a confirmed ADU boundary or None, position from which bytes must be
    kept to decide later). A boundary is confirmed when its ADU ends exactly at the end of
    the buffer or is followed by another plausible header."""
    last = len(buf) - 8
    for pos in range(start, last + 1):
        size = adu_length(buf, pos)
        if size is None:
            continue
        end = pos + size
        if end == len(buf) or adu_length(buf, end) is not None:
            return pos, pos
        if end + 8 > len(buf):
            return None, pos                 # cannot tell yet: keep from here
    return None, max(start, last + 1)


def _count_adus(buf: bytes, start: int) -> tuple[int, bool]:
    """(complete plausible ADUs chained from `start`, whether a bad header was hit)."""
    count, pos = 0, start
    while pos + 8 <= len(buf):
        size = adu_length(buf, pos)
        if size is None:
            return count, True
        if pos + size > len(buf):
            break
        count, pos = count + 1, pos + size
    return count, False


def match_streams(to_server: bytes, to_client: bytes, *, midstream: bool) -> Match:
    """Modbus/TCP by content: at least two well-formed ADUs over both directions and no
    malformed header among them. Picked up mid-stream, each direction is first
    resynchronised on a plausible header."""
    total = 0
    for buf in (to_server, to_client):
        if not buf:
            continue
        start = 0
        if midstream:
            found, _keep = find_sync(buf, 0)
            if found is None:
                continue
            start = found
        count, bad = _count_adus(buf, start)
        if bad:
            return Match.NO
        total += count
    return Match.YES if total >= _MIN_ADUS else Match.MAYBE
