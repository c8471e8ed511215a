"""DNP3 test traffic: link frames with CRC blocks, transport segmentation, application
fragments (the common builders live in `isthmus.security.craft_ics`, whose CRC is a slow
bit-by-bit reference, independent of the dissector's table-driven one)."""

from __future__ import annotations

import struct

from isthmus.security.craft_ics import DNP3_PORT
from isthmus.security.craft_ics import dnp3_analog_inputs as analog_inputs
from isthmus.security.craft_ics import dnp3_class_poll as class_poll
from isthmus.security.craft_ics import dnp3_crc as reference_crc
from isthmus.security.craft_ics import dnp3_frames as frames
from isthmus.security.craft_ics import dnp3_link_frame as link_frame
from isthmus.security.craft_ics import dnp3_request as request
from isthmus.security.craft_ics import dnp3_response as response

__all__ = ["DNP3_PORT", "MASTER", "OUTSTATION", "analog_inputs", "analog_output",
           "class_poll", "crob", "file_open", "frames", "link_frame", "link_only",
           "reference_crc", "request", "response", "time_and_date"]

MASTER, OUTSTATION = 3, 10


def link_only(function: int, *, from_master: bool = True, primary: bool = True) -> bytes:
    control = (0x80 if from_master else 0) | (0x40 if primary else 0) | function
    dst, src = (OUTSTATION, MASTER) if from_master else (MASTER, OUTSTATION)
    return link_frame(b"", dst=dst, src=src, control=control)


def crob(index: int, code: int = 0x03, *, on_ms: int = 1000) -> bytes:
    """g12v1 control relay output block, qualifier 0x28 (2-byte count, 2-byte index)."""
    return bytes([12, 1, 0x28]) + struct.pack("<HH", 1, index) + \
        struct.pack("<BBIIB", code, 1, on_ms, 0, 0)


def analog_output(index: int, value: int) -> bytes:
    """g41v2 16-bit analog output, qualifier 0x17 (1-byte count, 1-byte index)."""
    return bytes([41, 2, 0x17, 1, index]) + struct.pack("<hB", value, 0)


def time_and_date(ms: int) -> bytes:
    return bytes([50, 1, 0x07, 1]) + ms.to_bytes(6, "little")


def file_open(name: bytes) -> bytes:
    """g70v3 file command, free-format qualifier 0x5B (1-byte count, 2-byte size)."""
    body = struct.pack("<HHIIHHHH", 26, len(name), 0, 0, 0x1FF, 1024, 1, 0) + name
    return bytes([70, 3, 0x5B, 1]) + struct.pack("<H", len(body)) + body
