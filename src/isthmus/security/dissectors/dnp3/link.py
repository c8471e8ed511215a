"""DNP3 data-link layer: the CRC, frame headers (0x0564, length, control, destination,
source), user data carried in 16-byte CRC-checked blocks, resynchronisation in a byte
stream and recognition of DNP3 by content."""

from __future__ import annotations

import struct
from typing import NamedTuple

from isthmus.security.dissectors.base import Match
from isthmus.security.dissectors.recognition import match_directions

__all__ = ["HEADER", "HEADER_SIZE", "MAX_FRAME", "LinkHeader", "crc", "find_sync",
           "frame_size", "match_streams", "parse_header", "user_data"]

HEADER = struct.Struct("<2sBBHHH")     # start, length, control, destination, source, CRC
HEADER_SIZE = 10
MAX_FRAME = 292                        # length 255: 250 data bytes in 16 blocks
_START = b"\x05\x64"


def _table() -> tuple[int, ...]:
    """CRC-16/DNP: polynomial 0x3D65 bit-reflected (0xA6BC), initial 0, result inverted."""
    out = []
    for byte in range(256):
        value = byte
        for _ in range(8):
            value = (value >> 1) ^ 0xA6BC if value & 1 else value >> 1
        out.append(value)
    return tuple(out)


_CRC_TABLE = _table()


def _pair_table() -> list[int]:
    """The CRC step for two bytes at once, indexed by (register ^ little-endian word): a
    16-bit register is wholly shifted out by 16 bits, so the step depends on that alone."""
    table = _CRC_TABLE
    return [(table[x & 0xFF] >> 8) ^ table[((x >> 8) ^ table[x & 0xFF]) & 0xFF]
            for x in range(65536)]


_CRC_PAIRS = _pair_table()
_WORDS = [struct.Struct(f"<{n}H").unpack_from for n in range(129)]


_CRC_CACHE: dict[bytes, int] = {}     # polls repeat the same headers and request blocks
_CRC_CACHE_SIZE = 8192


def crc(data: bytes) -> int:
    """CRC-16/DNP of `data` (at most 256 bytes: a header or a user-data block)."""
    found = _CRC_CACHE.get(data)
    if found is not None:
        return found
    size = len(data)
    value = 0
    pairs = _CRC_PAIRS
    for word in _WORDS[size >> 1](data):
        value = pairs[value ^ word]
    if size & 1:
        value = (value >> 8) ^ _CRC_TABLE[(value ^ data[-1]) & 0xFF]
    if len(_CRC_CACHE) >= _CRC_CACHE_SIZE:
        _CRC_CACHE.clear()
    result = _CRC_CACHE[data] = ~value & 0xFFFF
    return result


class LinkHeader(NamedTuple):
    """A frame header (a named tuple: one is made per frame, and tuples are cheap)."""

    length: int
    control: int
    destination: int
    source: int

    @property
    def from_master(self) -> bool:
        return bool(self.control & 0x80)

    @property
    def primary(self) -> bool:
        return bool(self.control & 0x40)

    @property
    def function(self) -> int:
        return self.control & 0x0F

    @property
    def carries_user_data(self) -> bool:
        control = self.control
        return bool(control & 0x40) and control & 0x0F in (3, 4) and self.length > 5


def parse_header(buf: bytes, pos: int) -> LinkHeader | None:
    """The header at `pos` if it starts with 0x0564, its length is 5..255 and its CRC is
    right; None otherwise (or when fewer than 10 bytes are there)."""
    if pos + HEADER_SIZE > len(buf) or buf[pos:pos + 2] != _START:
        return None
    _start, length, control, dst, src, check = HEADER.unpack_from(buf, pos)
    if length < 5 or crc(buf[pos:pos + 8]) != check:
        return None
    return LinkHeader(length, control, dst, src)


def frame_size(length: int) -> int:
    """Bytes on the wire of a frame whose length field is `length`."""
    data = length - 5
    return HEADER_SIZE + data + 2 * ((data + 15) // 16)


def user_data(frame: bytes) -> tuple[bytes, int | None]:
    """(the user data with block CRCs removed, offset in the frame of the first block
    whose CRC is wrong, or None)."""
    blocks = []
    size = len(frame)
    pos = HEADER_SIZE
    bad: int | None = None
    while pos < size:
        end = pos + 16 if pos + 18 <= size else size - 2
        block = frame[pos:end]
        if bad is None and crc(block) != frame[end] | frame[end + 1] << 8:
            bad = pos
        blocks.append(block)
        pos = end + 2
    return b"".join(blocks), bad


def find_sync(buf: bytes, start: int) -> tuple[int | None, int]:
    """(position of the next valid frame header or None, position from which bytes must
    be kept to decide later)."""
    pos = buf.find(_START, start)
    while pos != -1:
        if pos + HEADER_SIZE > len(buf):
            return None, pos
        if parse_header(buf, pos) is not None:
            return pos, pos
        pos = buf.find(_START, pos + 1)
    return None, max(start, len(buf) - 1)


def match_streams(to_server: bytes, to_client: bytes, *, midstream: bool) -> Match:
    """DNP3 by content: a link header with a correct CRC (at the start of a direction, or
    anywhere in it when picked up mid-stream). Two start bytes and a 16-bit CRC make a
    false positive about one in four billion."""
    return match_directions(to_server, to_client, midstream=midstream, find_sync=find_sync,
                            sync_window=4 * MAX_FRAME, first=_first_frame)


def _first_frame(buf: bytes) -> Match:
    if parse_header(buf, 0) is not None:
        return Match.YES
    if len(buf) < HEADER_SIZE and _START.startswith(buf[:2]):
        return Match.MAYBE
    return Match.NO
