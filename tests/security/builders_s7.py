"""S7 test traffic: TPKT + COTP (connection request/confirm, data TPDUs, split messages),
S7comm jobs, acknowledgements and user data, S7comm-plus frames."""

from __future__ import annotations

import struct

from isthmus.security.craft_ics import (
    S7_PORT,
    any_item,
    cotp_cr,
    data_item,
    read_var,
    setup_communication,
    tpkt,
    write_var,
)
from isthmus.security.craft_ics import cotp_dt as dt
from isthmus.security.craft_ics import s7_ack_data as ack_data
from isthmus.security.craft_ics import s7_job as job
from isthmus.security.craft_ics import s7_message as s7

__all__ = ["S7_PORT", "ack_data", "any_item", "block_file", "cotp_cr", "data_item",
           "download_param", "dt", "job", "plc_control", "plc_stop", "rdp_cr", "read_var",
           "s7", "s7plus", "setup_communication", "split_dt", "szl_component_identification",
           "szl_module_identification", "szl_request", "tpkt", "upload_param", "userdata",
           "write_var"]


def rdp_cr() -> bytes:
    fixed = b"\xe0\x00\x00\x00\x00\x00"
    rest = b"Cookie: mstshash=admin\r\n" + b"\x01\x00\x08\x00\x03\x00\x00\x00"
    return tpkt(bytes([len(fixed)]) + fixed + rest)


def split_dt(payload: bytes, size: int) -> bytes:
    """One message in several COTP data TPDUs of at most `size` bytes, EOT on the last."""
    parts = [payload[i:i + size] for i in range(0, len(payload), size)]
    return b"".join(dt(p, eot=i == len(parts) - 1) for i, p in enumerate(parts))


def block_file(block_type: str = "0A", number: int = 1) -> bytes:
    name = f"_{block_type}{number:05d}P".encode()
    return bytes([len(name)]) + name


def download_param(fc: int, block_type: str = "0A", number: int = 1) -> bytes:
    """request download (0x1A), download block (0x1B), download ended (0x1C)."""
    return bytes([fc, 0, 0, 0]) + b"\0\0\0\0" + block_file(block_type, number)


def upload_param(fc: int, upload_id: int = 7, block_type: str = "0C", number: int = 5) -> bytes:
    """start upload (0x1D) carries the file name; upload (0x1E) and end upload (0x1F)
    only the upload id."""
    base = bytes([fc, 0, 0, 0]) + struct.pack(">I", upload_id)
    return base + (block_file(block_type, number) if fc == 0x1D else b"")


def plc_control(service: bytes, argument: bytes = b"") -> bytes:
    return bytes([0x28]) + b"\0\0\0\0\0\0\xfd" + struct.pack(">H", len(argument)) + \
        argument + bytes([len(service)]) + service


def plc_stop() -> bytes:
    return bytes([0x29]) + b"\0\0\0\0\0" + bytes([9]) + b"P_PROGRAM"


def userdata(group: int, sub: int, data: bytes, *, response: bool = False, seq: int = 0,
             ref: int = 1) -> bytes:
    if response:
        param = bytes([0, 1, 0x12, 8, 0x12, 0x80 | group, sub, seq, 0, 0, 0, 0])
    else:
        param = bytes([0, 1, 0x12, 4, 0x11, 0x40 | group, sub, seq])
    return s7(7, param, data, ref=ref)


def szl_request(szl_id: int, index: int = 0, *, ref: int = 1) -> bytes:
    return userdata(4, 1, struct.pack(">BBHHH", 0xFF, 0x09, 4, szl_id, index), ref=ref)


def szl_module_identification(order: str, firmware: tuple[int, int, int], *,
                              ref: int = 1) -> bytes:
    def record(index: int, ausbg: int, ausbe: int) -> bytes:
        return struct.pack(">H20sHHH", index, order.encode().ljust(20), 0, ausbg, ausbe)
    major, minor, patch = firmware
    records = record(1, 0, 1) + record(6, 0x5601, 0) + \
        record(7, 0x5600 | major, minor << 8 | patch)
    body = struct.pack(">HHHH", 0x0011, 0, 28, 3) + records
    data = struct.pack(">BBH", 0xFF, 0x09, len(body)) + body
    return userdata(4, 1, data, response=True, ref=ref)


def szl_component_identification(serial: str, model: str, *, ref: int = 1) -> bytes:
    records = struct.pack(">H32s", 5, serial.encode()) + struct.pack(">H32s", 7,
                                                                      model.encode())
    body = struct.pack(">HHHH", 0x001C, 0, 34, 2) + records
    data = struct.pack(">BBH", 0xFF, 0x09, len(body)) + body
    return userdata(4, 1, data, response=True, ref=ref)


def s7plus(opcode: int, function: int, *, version: int = 1, seq: int = 1) -> bytes:
    data = bytes([opcode]) + b"\0\0" + struct.pack(">H", function) + b"\0\0" + \
        struct.pack(">H", seq) + b"\0" * 8
    return bytes([0x72, version]) + struct.pack(">H", len(data)) + data + \
        bytes([0x72, version, 0, 0])
