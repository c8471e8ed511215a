"""IEC 60870-5-104 test traffic: U, S and I frames with ASDUs."""

from __future__ import annotations

import struct
from typing import Any

IEC104_PORT = 2404
STARTDT_ACT, STARTDT_CON = 0x07, 0x0B
STOPDT_ACT, STOPDT_CON = 0x13, 0x23
TESTFR_ACT, TESTFR_CON = 0x43, 0x83


def u_frame(function: int) -> bytes:
    return bytes([0x68, 4, function, 0, 0, 0])


def s_frame(recv_seq: int) -> bytes:
    return bytes([0x68, 4, 1, 0]) + struct.pack("<H", recv_seq << 1)


def i_frame(type_id: int, cause: int, ioa: int, element: bytes, *, ca: int = 1,
            send_seq: int = 0, recv_seq: int = 0, count: int = 1, negative: bool = False,
            originator: int = 0) -> bytes:
    asdu = bytes([type_id, count, cause | (0x40 if negative else 0), originator]) + \
        struct.pack("<H", ca) + ioa.to_bytes(3, "little") + element
    return bytes([0x68, 4 + len(asdu)]) + struct.pack("<HH", send_seq << 1,
                                                      recv_seq << 1) + asdu


def cp56(ms: int = 1234, minute: int = 5, hour: int = 6, day: int = 7, month: int = 8,
         year: int = 25) -> bytes:
    return struct.pack("<HBBBBB", ms, minute, hour, day, month, year)


def single_command(ioa: int, on: bool, *, select: bool = False, cause: int = 6,
                   **kw: Any) -> bytes:
    return i_frame(45, cause, ioa, bytes([(0x80 if select else 0) | int(on)]), **kw)


def setpoint_float(ioa: int, value: float, *, cause: int = 6, **kw: Any) -> bytes:
    return i_frame(50, cause, ioa, struct.pack("<fB", value, 0), **kw)


def interrogation(*, cause: int = 6, **kw: Any) -> bytes:
    return i_frame(100, cause, 0, bytes([20]), **kw)


def measured_float(ioa: int, value: float, *, cause: int = 3, **kw: Any) -> bytes:
    return i_frame(13, cause, ioa, struct.pack("<fB", value, 0), **kw)
