"""BACnet tagged values (ASHRAE 135 §20.2): tag number, class, length, and the simple
application values (null, boolean, unsigned, signed, real, double, strings, enumerated,
object identifiers) decoded to Python values."""

from __future__ import annotations

import struct
from dataclasses import dataclass

from isthmus.security.dissectors.cursor import Cursor
from isthmus.security.dissectors.message_session import Malformed

__all__ = ["Tag", "object_id", "read_tag", "value"]

OPENING, CLOSING = 6, 7


@dataclass(frozen=True, slots=True)
class Tag:
    number: int
    context: bool
    length: int              # data length; for application booleans, the value
    kind: int = 0            # 0 data, OPENING, CLOSING


def read_tag(cur: Cursor) -> Tag:
    first = cur.u8("tag")
    number, context, lvt = first >> 4, bool(first & 0x08), first & 0x07
    if number == 0x0F:
        number = cur.u8("extended tag number")
    if context and lvt in (OPENING, CLOSING):
        return Tag(number, True, 0, lvt)
    if lvt == 5:
        lvt = cur.u8("extended length")
        if lvt == 254:
            lvt = cur.u16("extended length")
        elif lvt == 255:
            lvt = cur.u32("extended length")
    return Tag(number, context, lvt)


def object_id(raw: bytes) -> tuple[int, int]:
    if len(raw) != 4:
        raise Malformed("bad-object-id", f"object identifier of {len(raw)} bytes")
    packed = int.from_bytes(raw, "big")
    return packed >> 22, packed & 0x3FFFFF


def value(cur: Cursor, tag: Tag) -> object:
    """The application-tagged value `tag` introduces (its data is read from `cur`)."""
    if tag.number == 1 and not tag.context:
        return bool(tag.length)
    raw = cur.take(tag.length, "tag data")
    if tag.context:
        return raw.hex()
    match tag.number:
        case 0:
            return None
        case 2 | 9:
            return int.from_bytes(raw, "big")
        case 3:
            return int.from_bytes(raw, "big", signed=True)
        case 4 if len(raw) == 4:
            return round(struct.unpack(">f", raw)[0], 6)
        case 5 if len(raw) == 8:
            return struct.unpack(">d", raw)[0]
        case 7:
            return _string(raw)
        case 12:
            kind, instance = object_id(raw)
            return f"{kind}:{instance}"
    return raw.hex()[:64]


def _string(raw: bytes) -> str:
    if not raw:
        return ""
    charset, text = raw[0], raw[1:]
    if charset == 4:
        return text.decode("utf-16-be", "replace")[:200]
    return text.decode("utf-8" if charset == 0 else "latin-1", "replace")[:200]
