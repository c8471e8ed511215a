"""EtherNet/IP + CIP test traffic: encapsulation messages, CPF items, CIP requests and
responses (paths with classes, instances, attributes and symbolic tags)."""

from __future__ import annotations

import socket
import struct

from isthmus.security.craft_ics import (
    ENIP_PORT,
    cip_request,
    cip_response,
    cpf,
    encap,
    logical_path,
    register_session,
    send_rr,
    send_unit,
    symbol_path,
)

__all__ = ["ENIP_PORT", "cip_request", "cip_response", "cpf", "encap", "forward_open",
           "identity_attributes", "list_identity_response", "logical_path",
           "multiple_service", "register_session", "send_rr", "send_unit", "symbol_path",
           "unconnected_send", "write_tag_data"]


def write_tag_data(values: list[int]) -> bytes:
    return struct.pack("<HH", 0xC4, len(values)) + b"".join(struct.pack("<i", v)
                                                             for v in values)


def identity_attributes(name: str, *, vendor: int = 1, device_type: int = 14,
                        product: int = 166, revision: tuple[int, int] = (32, 11),
                        serial: int = 0xC0FFEE01) -> bytes:
    return struct.pack("<HHHBBHIB", vendor, device_type, product, *revision, 0x3060,
                       serial, len(name)) + name.encode()


def list_identity_response(name: str, ip: str = "10.10.0.5") -> bytes:
    item = struct.pack("<H", 1) + struct.pack(">HH", 2, ENIP_PORT) + \
        socket.inet_aton(ip) + b"\0" * 8 + identity_attributes(name) + b"\x03"
    return encap(0x63, cpf((0x000C, item)), session=0)


def multiple_service(*requests: bytes) -> bytes:
    offsets, pos = [], 2 + 2 * len(requests)
    for request in requests:
        offsets.append(pos)
        pos += len(request)
    data = struct.pack(f"<H{len(requests)}H", len(requests), *offsets) + b"".join(requests)
    return cip_request(0x0A, logical_path(0x02), data)


def unconnected_send(inner: bytes) -> bytes:
    data = bytes([0x07, 0xE9]) + struct.pack("<H", len(inner)) + inner + \
        (b"\0" if len(inner) & 1 else b"") + bytes([1, 0, 0x01, 0x00])
    return cip_request(0x52, logical_path(0x06), data)


def forward_open() -> bytes:
    """O→T and T→O connection ids, serial, vendor, originator serial, timeout multiplier,
    RPIs and parameters, transport trigger, then a connection path to the message router."""
    path = bytes([0x01, 0x00, 0x20, 0x02, 0x24, 0x01])
    data = bytes([0x07, 0xE9]) + struct.pack("<IIHHIB3sIHIHBB", 0, 0x11223344, 1, 1, 0x1234,
                                             3, b"\0\0\0", 500_000, 0x43F4, 500_000,
                                             0x43F4, 0xA3, len(path) // 2) + path
    return cip_request(0x54, logical_path(0x06), data)
