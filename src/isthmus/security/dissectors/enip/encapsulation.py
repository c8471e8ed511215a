"""EtherNet/IP encapsulation: the 24-byte header (command, length, session handle,
status, sender context, options), common packet format (CPF) items, the ListIdentity
identity item, resynchronisation in a byte stream and recognition by content."""

from __future__ import annotations

import struct
from dataclasses import dataclass

from isthmus.security.dissectors.base import Match
from isthmus.security.dissectors.enip.names import COMMANDS, CPF_ITEMS
from isthmus.security.dissectors.recognition import match_directions

__all__ = ["HEADER", "HEADER_SIZE", "MAX_LENGTH", "CpfItem", "EncapError", "Header",
           "find_sync", "match_streams", "message_length", "parse_cpf", "parse_header",
           "parse_identity", "valid_body"]

HEADER = struct.Struct("<HHII8sI")
HEADER_SIZE = 24
MAX_LENGTH = 65511
_SYNC_LENGTH = 8192                 # longest body trusted while resynchronising
_IDENTITY = struct.Struct("<H2sH4s8sHHHBBHIB")
_NOP = 0x0000


class EncapError(ValueError):
    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.offset = offset


@dataclass(frozen=True, slots=True)
class Header:
    command: int
    length: int
    session: int
    status: int
    context: bytes
    options: int


@dataclass(frozen=True, slots=True)
class CpfItem:
    type_id: int
    data: bytes
    offset: int                     # of the item's data, in the encapsulated body


def parse_header(buf: bytes, pos: int) -> Header:
    return Header(*HEADER.unpack_from(buf, pos))


def message_length(buf: bytes, pos: int, limit: int = MAX_LENGTH) -> int | None:
    """Bytes of the message at `pos` if its header is plausible (known command, options 0,
    length ≤ `limit`); needs 24 bytes."""
    if pos + HEADER_SIZE > len(buf):
        return None
    command, length = buf[pos] | buf[pos + 1] << 8, buf[pos + 2] | buf[pos + 3] << 8
    if command not in COMMANDS or length > limit or buf[pos + 20:pos + 24] != b"\0\0\0\0":
        return None
    return HEADER_SIZE + length


def parse_cpf(body: bytes, start: int) -> list[CpfItem]:
    """The CPF items from `start` in `body`; they must fill it exactly."""
    if start + 2 > len(body):
        raise EncapError("common packet format has no item count", start)
    count = body[start] | body[start + 1] << 8
    if not 1 <= count <= 16:
        raise EncapError(f"common packet format item count {count} is not 1..16", start)
    items, pos = [], start + 2
    for _ in range(count):
        if pos + 4 > len(body):
            raise EncapError("CPF item header truncated", pos)
        type_id, length = struct.unpack_from("<HH", body, pos)
        if type_id not in CPF_ITEMS or pos + 4 + length > len(body):
            raise EncapError(f"CPF item type 0x{type_id:04x} length {length} is not valid "
                             "here", pos)
        items.append(CpfItem(type_id, body[pos + 4:pos + 4 + length], pos + 4))
        pos += 4 + length
    if pos != len(body):
        raise EncapError(f"{len(body) - pos} bytes after the last CPF item", pos)
    return items


def valid_body(header: Header, body: bytes) -> bool:
    """Whether the body has the shape its command requires (used to recognise EtherNet/IP
    and to resynchronise, never to drop a message)."""
    command = header.command
    try:
        if command == 0x0065:
            return len(body) == 4 and body[:2] == b"\x01\x00"
        if command in (0x0066,):
            return not body
        if command in (0x0063, 0x0004, 0x0064):
            return not body or bool(parse_cpf(body, 0))
        if command in (0x006F, 0x0070):
            return len(body) >= 8 and bool(parse_cpf(body, 6))
    except EncapError:
        return False
    return command != _NOP


def parse_identity(item: bytes) -> dict[str, str]:
    """A ListIdentity CIP identity item: vendor, device type, product code, revision,
    status, serial number and product name."""
    if len(item) < _IDENTITY.size:
        raise EncapError(f"identity item of {len(item)} bytes, at least {_IDENTITY.size} "
                         "needed", len(item))
    (_version, _family, port, address, _zero, vendor, device_type, product, major, minor,
     status, serial, name_len) = _IDENTITY.unpack_from(item)
    name = item[_IDENTITY.size:_IDENTITY.size + name_len].decode("latin-1")
    return {"vendor_id": str(vendor), "device_type": str(device_type),
            "product_code": str(product), "revision": f"{major}.{minor}",
            "status": f"0x{status:04x}", "serial": f"0x{serial:08x}", "product": name,
            "address": ".".join(str(b) for b in address),
            "port": str(int.from_bytes(port.to_bytes(2, "little"), "big"))}


def find_sync(buf: bytes, start: int) -> tuple[int | None, int]:
    """(position of a complete, well-shaped message with a body, followed by a plausible
    header or the end of the buffer; or None. Then the position to keep bytes from).
    Body-less commands (ListIdentity request …) are too easily found in binary data to
    resynchronise on."""
    last = len(buf) - HEADER_SIZE
    for pos in range(start, last + 1):
        size = message_length(buf, pos, _SYNC_LENGTH)
        if size is None or size == HEADER_SIZE:
            continue
        end = pos + size
        if end > len(buf):
            return None, pos
        if not valid_body(parse_header(buf, pos), buf[pos + HEADER_SIZE:end]):
            continue
        if end == len(buf) or message_length(buf, end) is not None:
            return pos, pos
        if end + HEADER_SIZE > len(buf):
            return None, pos                     # cannot tell yet: keep from here
    return None, max(start, last + 1)


def match_streams(to_server: bytes, to_client: bytes, *, midstream: bool) -> Match:
    """EtherNet/IP by content: the first message (or, mid-stream, any message) has a known
    command other than NOP, options 0 and a body of the shape its command requires."""
    return match_directions(to_server, to_client, midstream=midstream, find_sync=find_sync,
                            sync_window=2 * _SYNC_LENGTH, first=_first_message)


def _first_message(buf: bytes) -> Match:
    if len(buf) < HEADER_SIZE:
        if len(buf) >= 2 and buf[0] | buf[1] << 8 not in COMMANDS:
            return Match.NO
        return Match.MAYBE
    size = message_length(buf, 0)
    if size is None:
        return Match.NO
    if size > len(buf):
        return Match.MAYBE
    return Match.YES if valid_body(parse_header(buf, 0), buf[HEADER_SIZE:size]) else Match.NO
