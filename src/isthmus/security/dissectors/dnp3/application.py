"""DNP3 application layer: the header (control, function code, IIN on responses) and the
object headers (group, variation, qualifier, range), with the values of control relay
output blocks and analog output commands. Pure functions over one reassembled fragment."""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Any

from isthmus.security.dissectors.dnp3.names import (
    IIN_BITS,
    OBJECT_SIZES,
    QUALIFIER_PREFIX_SIZES,
    RESPONSE,
    UNSOLICITED_RESPONSE,
)

__all__ = ["Apdu", "ApduError", "ObjectHeader", "parse_apdu"]

_RANGE_SIZES = {0: 1, 1: 2, 2: 4, 3: 1, 4: 2, 5: 4}      # start/stop, each this size
_COUNT_SIZES = {7: 1, 8: 2, 9: 4, 0xB: 1}
_INT = {1: "<B", 2: "<H", 4: "<I"}
_MAX_HEADERS = 32
_VALUED = frozenset({12, 41})      # groups whose values `_value` reads


class ApduError(ValueError):
    """A fragment that cannot be parsed; `offset` counts from the start of the fragment."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.offset = offset


@dataclass(slots=True)
class ObjectHeader:
    """One object header (not frozen: a frozen dataclass is slow to make; never changed
    once made)."""

    group: int
    variation: int
    qualifier: int
    start: int | None = None        # first index (range or first prefix)
    stop: int | None = None
    count: int | None = None

    def to_dict(self) -> dict[str, int]:
        out = {"group": self.group, "variation": self.variation,
               "qualifier": self.qualifier}
        if self.start is not None:
            out["start"] = self.start
        if self.stop is not None:
            out["stop"] = self.stop
        if self.count is not None:
            out["count"] = self.count
        return out


@dataclass(slots=True)
class Apdu:
    control: int
    function_code: int
    iin: int | None = None
    objects: list[ObjectHeader] = field(default_factory=list)
    values: list[int | float] | None = None
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def sequence(self) -> int:
        return self.control & 0x0F

    @property
    def unsolicited(self) -> bool:
        return bool(self.control & 0x10)

    def iin_names(self) -> list[str]:
        if self.iin is None:
            return []
        return [name for bit, name in enumerate(IIN_BITS) if self.iin >> bit & 1]


def _uint(data: bytes, pos: int, size: int, what: str) -> int:
    if pos + size > len(data):
        raise ApduError(f"{what} needs {size} bytes, only {len(data) - pos} left", pos)
    value: int = struct.unpack_from(_INT[size], data, pos)[0]
    return value


def parse_apdu(data: bytes) -> Apdu:
    """One application fragment. Raises `ApduError` at the first byte that makes no
    sense; stops quietly (recording `objects_truncated`) at an object it cannot size."""
    if len(data) < 2:
        raise ApduError(f"fragment of {len(data)} bytes has no application header", 0)
    apdu = Apdu(data[0], data[1])
    pos = 2
    if apdu.function_code in (RESPONSE, UNSOLICITED_RESPONSE, 131):
        apdu.iin = _uint(data, 2, 2, "internal indications")     # IIN1 | IIN2 << 8
        pos = 4
    while pos < len(data) and len(apdu.objects) < _MAX_HEADERS:
        pos = _object_header(data, pos, apdu)
        if pos < 0:
            apdu.detail["objects_truncated"] = True
            break
    return apdu


def _object_header(data: bytes, pos: int, apdu: Apdu) -> int:
    """Parses one object header (and its objects) at `pos`; the position after it, or -1
    when the objects' size is unknown."""
    if pos + 3 > len(data):
        raise ApduError("object header truncated", pos)
    group, variation, qualifier = data[pos], data[pos + 1], data[pos + 2]
    prefix_code, range_code = qualifier >> 4 & 0x07, qualifier & 0x0F
    pos += 3
    start = stop = count = None
    if range_code in _RANGE_SIZES:
        size = _RANGE_SIZES[range_code]
        start = _uint(data, pos, size, f"g{group}v{variation} range start")
        stop = _uint(data, pos + size, size, f"g{group}v{variation} range stop")
        if stop < start:
            raise ApduError(f"g{group}v{variation} range stop {stop} is below start {start}",
                            pos)
        count, pos = stop - start + 1, pos + 2 * size
    elif range_code in _COUNT_SIZES:
        size = _COUNT_SIZES[range_code]
        count = _uint(data, pos, size, f"g{group}v{variation} count")
        pos += size
    elif range_code != 6:
        raise ApduError(f"g{group}v{variation}: qualifier 0x{qualifier:02x} has a reserved "
                        f"range code {range_code}", pos - 1)
    if prefix_code not in QUALIFIER_PREFIX_SIZES:
        raise ApduError(f"g{group}v{variation}: qualifier 0x{qualifier:02x} has a reserved "
                        f"prefix code {prefix_code}", pos - 1)
    header_at = len(apdu.objects)
    apdu.objects.append(ObjectHeader(group, variation, qualifier, start, stop, count))
    if range_code == 6 or count == 0 or (apdu.function_code == 1 and prefix_code == 0):
        return pos                                      # no objects follow
    return _objects(data, pos, apdu, header_at, prefix_code, count or 0)


def _objects(data: bytes, pos: int, apdu: Apdu, header_at: int, prefix_code: int,
             count: int) -> int:
    header = apdu.objects[header_at]
    prefix = QUALIFIER_PREFIX_SIZES[prefix_code]
    size = OBJECT_SIZES.get((header.group, header.variation))
    if apdu.function_code == 1:                         # a read: prefixes only
        size = 0
    if size is None and prefix_code < 4:
        return -1
    if prefix_code == 0 and size is not None and header.group not in _VALUED:
        return _skip_objects(data, pos, header, size, count)
    values: list[int | float] = []
    first_index: int | None = None
    for _ in range(count):
        index = _uint(data, pos, prefix, "object prefix") if prefix else None
        if prefix_code >= 4:                            # the prefix is the object's size
            size, index = index, None
        if first_index is None and index is not None and prefix_code < 4:
            first_index = index
        pos += prefix
        if size is None:
            return -1
        if pos + size > len(data):
            raise ApduError(f"g{header.group}v{header.variation} object needs {size} bytes, "
                            f"only {len(data) - pos} left", pos)
        value = _value(header.group, header.variation, data, pos)
        if value is not None:
            values.append(value)
        pos += size
    if first_index is not None:
        apdu.objects[header_at] = ObjectHeader(header.group, header.variation,
                                               header.qualifier, first_index,
                                               header.stop, count)
    if values and apdu.values is None:
        apdu.values = values
    return pos


def _skip_objects(data: bytes, pos: int, header: ObjectHeader, size: int,
                  count: int) -> int:
    """Past `count` objects of `size` bytes without prefixes whose values are not read
    (the same checks as reading them one by one)."""
    end = pos + count * size
    if end > len(data):
        pos += (len(data) - pos) // size * size if size else 0
        raise ApduError(f"g{header.group}v{header.variation} object needs {size} bytes, "
                        f"only {len(data) - pos} left", pos)
    return end


def _value(group: int, variation: int, data: bytes, pos: int) -> int | float | None:
    """The control code of a CROB, the value of an analog output command; else None."""
    if group == 12:
        return data[pos]
    fmt = {1: "<i", 2: "<h", 3: "<f", 4: "<d"}.get(variation)
    if group == 41 and fmt is not None:
        value: int | float = struct.unpack_from(fmt, data, pos)[0]
        return value
    return None
