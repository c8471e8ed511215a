"""CIP messages carried by EtherNet/IP: service, request path (class, instance, attribute,
member, or a symbolic tag name), general and extended status, and the parts of the data
that say what is done: tag values and element counts, the requests inside a Multiple
Service Packet or an Unconnected Send, the identity object's attributes. Pure functions;
a malformed message raises `CipError` with the offset inside it."""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Any

from isthmus.security.dissectors.enip.names import (
    CLASSES,
    CONNECTION_MANAGER,
    CONNECTION_MANAGER_SERVICES,
    GENERAL_STATUS,
    SERVICES,
)
from isthmus.security.operations import DANGEROUS

__all__ = ["CipError", "CipMessage", "parse_request", "parse_response"]

_SEGMENT_SIZES = {0x20: 1, 0x24: 1, 0x28: 1, 0x2C: 1, 0x30: 1,
                  0x21: 3, 0x25: 3, 0x29: 3, 0x2D: 3, 0x31: 3}
_SEGMENT_NAMES = {0x20: "class", 0x24: "instance", 0x28: "member", 0x2C: "connection_point",
                  0x30: "attribute"}
_TAG_TYPES: dict[int, tuple[str, str]] = {0xC1: ("<B", "bool"), 0xC2: ("<b", "sint"),
                                          0xC3: ("<h", "int"), 0xC4: ("<i", "dint"),
                                          0xC5: ("<q", "lint"), 0xC6: ("<B", "usint"),
                                          0xC7: ("<H", "uint"), 0xC8: ("<I", "udint"),
                                          0xCA: ("<f", "real"), 0xCB: ("<d", "lreal")}
_TAG_STRUCTS = {kind: struct.Struct(fmt) for kind, (fmt, _name) in _TAG_TYPES.items()}
_IDENTITY = struct.Struct("<HHHBBHIB")
_MAX_VALUES = 16
_MAX_EMBEDDED = 32


class CipError(ValueError):
    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.offset = offset


@dataclass(slots=True)
class CipMessage:
    service: int
    name: str = ""
    operation: str = "other"
    path: dict[str, Any] = field(default_factory=dict)
    status: int | None = None
    extended_status: list[int] = field(default_factory=list)
    quantity: int | None = None
    values: list[int | float] | None = None
    embedded: list[CipMessage] = field(default_factory=list)
    identity: dict[str, str] = field(default_factory=dict)
    detail: dict[str, Any] = field(default_factory=dict)


def _service(service: int, cls: int | None) -> tuple[str, str]:
    if cls == CONNECTION_MANAGER and service in CONNECTION_MANAGER_SERVICES:
        return CONNECTION_MANAGER_SERVICES[service]
    return SERVICES.get(service, (f"service_{service:#04x}", "other"))


def parse_path(path: bytes) -> dict[str, Any]:
    """Logical segments (class, instance, member, attribute, connection point), ANSI
    extended symbolic segments joined with '.' into `tag`, port segments skipped."""
    out: dict[str, Any] = {}
    symbols: list[str] = []
    pos = 0
    while pos < len(path):
        kind = path[pos]
        if kind in _SEGMENT_SIZES:
            size = _SEGMENT_SIZES[kind]
            if pos + 1 + size > len(path):
                raise CipError("path segment truncated", pos)
            value = path[pos + 1] if size == 1 else path[pos + 2] | path[pos + 3] << 8
            out.setdefault(_SEGMENT_NAMES[kind & 0xFC], value)
            pos += 1 + size
        elif kind == 0x91:
            if pos + 2 > len(path):
                raise CipError("symbolic segment truncated", pos)
            size = path[pos + 1]
            symbols.append(path[pos + 2:pos + 2 + size].decode("latin-1"))
            pos += 2 + size + (size & 1)
        elif kind >> 5 == 0:                                  # port segment
            pos += _port_segment(path, pos)
        else:
            out["unparsed_segment"] = kind
            break
    if symbols:
        out["tag"] = ".".join(symbols)
    return out


def _port_segment(path: bytes, pos: int) -> int:
    if path[pos] & 0x10:                                      # extended link address
        if pos + 2 > len(path):
            raise CipError("port segment truncated", pos)
        size = path[pos + 1]
        return 2 + size + (size & 1)
    return 2


def parse_request(msg: bytes, *, depth: int = 0) -> CipMessage:
    if len(msg) < 2:
        raise CipError(f"CIP request of {len(msg)} bytes has no path size", len(msg))
    service, words = msg[0], msg[1]
    if service & 0x80:
        raise CipError(f"CIP request with the response bit set (service 0x{service:02x})", 0)
    end = 2 + 2 * words
    if end > len(msg):
        raise CipError(f"request path of {words} words runs past the message", 1)
    path = parse_path(msg[2:end])
    out = CipMessage(service, path=path)
    out.name, out.operation = _service(service, path.get("class"))
    if path.get("class") == 1 and service in (0x01, 0x0E):
        out.operation = "identify"                      # asks the identity object
    _request_data(out, msg[end:], end, depth)
    return out


def _request_data(out: CipMessage, data: bytes, base: int, depth: int) -> None:
    if out.name == "unconnected_send" and depth == 0 and len(data) >= 4:
        size = data[2] | data[3] << 8
        if 4 + size > len(data):
            raise CipError("unconnected send embeds more bytes than it carries", base + 2)
        out.embedded.append(parse_request(data[4:4 + size], depth=1))
    elif out.service == 0x0A and depth == 0:
        out.embedded = [parse_request(part, depth=1) for part in _packets(data, base)]
    elif out.name in ("read_tag", "read_tag_fragmented") and len(data) >= 2:
        out.quantity = data[0] | data[1] << 8
    elif out.name in ("write_tag", "write_tag_fragmented") and len(data) >= 4:
        kind, count = struct.unpack_from("<HH", data)
        out.quantity = count
        start = 8 if out.name == "write_tag_fragmented" else 4
        out.values = _tag_values(kind, data[start:], count)
    if out.embedded:
        _take_embedded(out)


def _take_embedded(out: CipMessage) -> None:
    """An Unconnected Send is what it carries; a Multiple Service Packet is its most
    dangerous part (else a read)."""
    inner = out.embedded
    if out.name == "unconnected_send":
        first = inner[0]
        out.detail["via"] = "unconnected_send"
        out.name, out.operation, out.path = first.name, first.operation, first.path
        out.service, out.quantity, out.values = first.service, first.quantity, first.values
        return
    out.detail["services"] = [m.name for m in inner]
    dangerous = [m.operation for m in inner if m.operation in DANGEROUS]
    out.operation = dangerous[0] if dangerous else "read"
    if inner and not out.path.get("tag"):
        out.detail["first_path"] = inner[0].path


def _packets(data: bytes, base: int) -> list[bytes]:
    if len(data) < 2:
        raise CipError("multiple service packet has no count", base)
    count = data[0] | data[1] << 8
    if count > _MAX_EMBEDDED or 2 + 2 * count > len(data):
        raise CipError(f"multiple service packet count {count} does not fit", base)
    offsets = [*struct.unpack_from(f"<{count}H", data, 2), len(data)]
    parts = []
    for i in range(count):
        if not 2 + 2 * count <= offsets[i] <= offsets[i + 1] <= len(data):
            raise CipError(f"multiple service packet offset {offsets[i]} is out of order",
                           base + 2 + 2 * i)
        parts.append(data[offsets[i]:offsets[i + 1]])
    return parts


def _tag_values(kind: int, data: bytes, count: int) -> list[int | float] | None:
    found = _TAG_STRUCTS.get(kind)
    if found is None:
        return None
    n = min(count, _MAX_VALUES, len(data) // found.size)
    return list(struct.unpack_from(f"<{n}{found.format[1:]}", data)) if n != 1 \
        else list(found.unpack_from(data))


def parse_response(msg: bytes, request: CipMessage | None) -> CipMessage:
    if len(msg) < 4:
        raise CipError(f"CIP response of {len(msg)} bytes is shorter than its header",
                       len(msg))
    service, status, ext_words = msg[0] & 0x7F, msg[2], msg[3]
    if not msg[0] & 0x80:
        raise CipError(f"CIP response without the response bit (service 0x{msg[0]:02x})", 0)
    end = 4 + 2 * ext_words
    if end > len(msg):
        raise CipError("extended status runs past the message", 3)
    out = CipMessage(service, status=status)
    if ext_words:
        out.extended_status = list(struct.unpack_from(f"<{ext_words}H", msg, 4))
    if request is not None and request.service == service:
        out.name, out.operation, out.path = request.name, request.operation, request.path
        out.detail = dict(request.detail)
    else:
        out.name, out.operation = _service(service, None)
    if status:
        out.detail["status_name"] = GENERAL_STATUS.get(status, f"status_{status:#04x}")
    data = msg[end:]
    if status in (0, 6):
        _response_data(out, data)
    return out


def _response_data(out: CipMessage, data: bytes) -> None:
    if out.name in ("read_tag", "read_tag_fragmented") and len(data) >= 2:
        kind = data[0] | data[1] << 8
        out.values = _tag_values(kind, data[2:], _MAX_VALUES)
    elif out.path.get("class") == 1 and out.service == 0x01 and len(data) >= _IDENTITY.size:
        out.operation = "identify"
        (vendor, device_type, product, major, minor, status, serial,
         name_len) = _IDENTITY.unpack_from(data)
        out.identity = {
            "vendor_id": str(vendor), "device_type": str(device_type),
            "product_code": str(product), "revision": f"{major}.{minor}",
            "serial": f"0x{serial:08x}", "status": f"0x{status:04x}",
            "product": data[_IDENTITY.size:_IDENTITY.size + name_len].decode("latin-1")}


def class_name(cls: int | None) -> str | None:
    return None if cls is None else CLASSES.get(cls, f"class_{cls:#04x}")
