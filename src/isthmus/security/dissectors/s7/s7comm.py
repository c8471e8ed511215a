"""S7comm (protocol id 0x32) messages: header, job and ack-data parameters (setup, read
and write var items, block download/upload, PLC control with its PI service, PLC stop)
and user data (SZL reads, with module and component identification answers parsed).
Pure functions; a malformed message raises `S7Error` with the offset inside it."""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Any

from isthmus.security.dissectors.s7.names import (
    AREAS,
    BLOCK_TYPES,
    FUNCTIONS,
    PI_SERVICES,
    ROSCTR,
    SZL_IDS,
    USERDATA_FUNCTIONS,
    USERDATA_GROUPS,
)

__all__ = ["S7Error", "S7Message", "parse_s7comm"]

_HEADER = struct.Struct(">BBHHHH")        # id, rosctr, redundancy, pdu ref, param, data
_ITEM = struct.Struct(">BHHB3s")          # transport size, length, DB, area, address
_MAX_ITEMS = 64
_MAX_VALUES = 64
_BIT_SIZES = (0x03, 0x04, 0x05)           # data transport sizes whose length is in bits


class S7Error(ValueError):
    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.offset = offset


@dataclass(slots=True)
class S7Message:
    rosctr: int
    pdu_ref: int
    function_code: int | None = None
    function: str = ""
    operation: str = "other"
    error: int | None = None                  # ack/ack-data error class << 8 | code
    items: list[dict[str, Any]] = field(default_factory=list)
    values: list[int] | None = None
    detail: dict[str, Any] = field(default_factory=dict)
    identity: dict[str, str] = field(default_factory=dict)

    @property
    def is_request(self) -> bool:
        if self.rosctr == 7:
            return bool(self.detail.get("method") == 0x11)
        return self.rosctr == 1


def parse_s7comm(msg: bytes, request: S7Message | None = None) -> S7Message:
    """One S7comm message; `request` is the job it answers, when paired."""
    if len(msg) < 10:
        raise S7Error(f"S7comm header needs 10 bytes, got {len(msg)}", 0)
    _id, rosctr, _red, pdu_ref, param_len, data_len = _HEADER.unpack_from(msg)
    if rosctr not in ROSCTR:
        raise S7Error(f"unknown ROSCTR {rosctr}", 1)
    out = S7Message(rosctr, pdu_ref)
    start = 10
    if rosctr in (2, 3):
        if len(msg) < 12:
            raise S7Error("ack header needs 12 bytes", len(msg))
        error = msg[10] << 8 | msg[11]
        out.error = error or None
        start = 12
    if start + param_len + data_len > len(msg):
        raise S7Error(f"parameter ({param_len}) and data ({data_len}) lengths run past the "
                      f"message's {len(msg)} bytes", 6)
    param = msg[start:start + param_len]
    data = msg[start + param_len:start + param_len + data_len]
    if rosctr == 7:
        _userdata(out, param, data, start)
    elif param:
        _job(out, param, data, start, request)
    elif request is not None:
        out.function_code, out.function = request.function_code, request.function
        out.operation = request.operation
    return out


def _job(out: S7Message, param: bytes, data: bytes, base: int,
         request: S7Message | None) -> None:
    fc = param[0]
    out.function_code = fc
    out.function, out.operation = FUNCTIONS.get(fc, (f"function_{fc:#04x}", "other"))
    if fc == 0xF0 and len(param) >= 8:
        calling, called, pdu = struct.unpack_from(">HHH", param, 2)
        out.detail.update(max_amq_calling=calling, max_amq_called=called, pdu_length=pdu)
    elif fc in (0x04, 0x05):
        _var(out, param, data, base, request)
    elif 0x1A <= fc <= 0x1D and len(param) > 9:
        _filename(out, param[9:9 + param[8]])
    elif fc in (0x1E, 0x1F) and len(param) >= 8:
        out.detail["upload_id"] = struct.unpack_from(">I", param, 4)[0]
    elif fc == 0x28 and out.rosctr == 1:
        _plc_control(out, param, base)
    elif fc == 0x29 and len(param) > 7:
        out.detail["pi_service"] = param[7:7 + param[6]].decode("latin-1")
    elif fc == 0x28 and request is not None:
        out.operation = request.operation
        out.detail.update(request.detail)


def _var(out: S7Message, param: bytes, data: bytes, base: int,
         request: S7Message | None) -> None:
    if len(param) < 2:
        raise S7Error("read/write var parameter has no item count", base + len(param))
    count = param[1]
    if out.rosctr == 1:
        pos = 2
        for _ in range(min(count, _MAX_ITEMS)):
            if pos + 2 > len(param) or pos + 2 + param[pos + 1] > len(param):
                raise S7Error("request item runs past the parameters", base + pos)
            size = param[pos + 1]
            if param[pos] == 0x12 and size == 10 and param[pos + 2] == 0x10:
                out.items.append(_any_item(param, pos + 3))
            else:
                out.items.append({"syntax_id": param[pos + 2] if size else None})
            pos += 2 + size
    elif request is not None:
        out.items = request.items          # shared: never changed once made
    if out.items and "byte" in out.items[0]:
        out.detail["area"] = out.items[0]["area"]
        out.detail["db"] = out.items[0]["db"]
    if data and (out.rosctr == 3 or out.function_code == 0x05):
        _data_items(out, data, count, base)


def _any_item(param: bytes, pos: int) -> dict[str, Any]:
    transport, length, db, area, address = _ITEM.unpack_from(param, pos)
    bits = int.from_bytes(address, "big")
    return {"area": AREAS.get(area, f"area_{area:#04x}"), "db": db, "byte": bits >> 3,
            "bit": bits & 7, "transport_size": transport, "length": length}


def _data_items(out: S7Message, data: bytes, count: int, base: int) -> None:
    """Data items (return code, transport size, length, bytes); the first item's bytes
    become `values`. A write var response's data is only return codes."""
    if out.rosctr == 3 and out.function_code == 0x05:
        out.detail["return_codes"] = list(data[:count])
        return
    pos, codes = 0, []
    for index in range(min(count, _MAX_ITEMS)):
        if pos + 4 > len(data):
            raise S7Error("data item header truncated", base + pos)
        code, transport, length = data[pos], data[pos + 1], data[pos + 2] << 8 | data[pos + 3]
        size = (length + 7) // 8 if transport in _BIT_SIZES else length
        codes.append(code)
        if pos + 4 + size > len(data):
            raise S7Error(f"data item needs {size} bytes, {len(data) - pos - 4} left",
                          base + pos)
        if index == 0:
            out.values = list(data[pos + 4:pos + 4 + min(size, _MAX_VALUES)])
        pos += 4 + size + (size & 1)
    if out.rosctr == 3:
        out.detail["return_codes"] = codes


def _filename(out: S7Message, name: bytes) -> None:
    text = name.decode("latin-1")
    out.detail["filename"] = text
    if len(text) >= 8 and text[0] == "_":
        out.detail["block_type"] = BLOCK_TYPES.get(text[1:3], text[1:3])
        if text[3:8].isascii() and text[3:8].isdigit():      # not '³' (latin-1 digit)
            out.detail["block_number"] = int(text[3:8])


def _plc_control(out: S7Message, param: bytes, base: int) -> None:
    """func, 7 unknown bytes, parameter block length (2), block, service length, name."""
    if len(param) < 10:
        raise S7Error("PLC control parameter truncated", base + len(param))
    block_len = param[8] << 8 | param[9]
    at = 10 + block_len
    if at >= len(param):
        raise S7Error("PLC control parameter block runs past the parameters", base + 8)
    service = param[at + 1:at + 1 + param[at]].decode("latin-1")
    out.detail["pi_service"] = service
    argument = param[10:at].decode("latin-1").strip("\0 ")
    if argument:
        out.detail["argument"] = argument
    out.operation = PI_SERVICES.get(service, "program")


def _userdata(out: S7Message, param: bytes, data: bytes, base: int) -> None:
    if len(param) < 8 or param[:3] != b"\x00\x01\x12":
        raise S7Error("user-data parameter header is not 00 01 12", base)
    method, type_group, sub, seq = param[4], param[5], param[6], param[7]
    group = type_group & 0x0F
    name, operation = USERDATA_FUNCTIONS.get(
        (group, sub), USERDATA_FUNCTIONS.get((group, None), (f"group_{group}", "other")))
    out.function_code = group << 8 | sub
    out.function, out.operation = name, operation
    out.detail.update(method=method, group=USERDATA_GROUPS.get(group, str(group)),
                      subfunction=sub, sequence=seq)
    if (group, sub) == (0x4, 0x01) and len(data) >= 8 and data[0] == 0xFF:
        szl_id, index = struct.unpack_from(">HH", data, 4)
        out.detail.update(szl_id=f"0x{szl_id:04x}", szl_index=f"0x{index:04x}",
                          szl=SZL_IDS.get(szl_id, "other"))
        if method == 0x12 and len(data) >= 12:
            _szl_records(out, szl_id & 0xFF, data[8:])


def _szl_records(out: S7Message, szl: int, body: bytes) -> None:
    size, count = struct.unpack_from(">HH", body)
    if size < 2:                              # every record starts with its index
        return
    records = [body[4 + i * size:4 + (i + 1) * size] for i in range(min(count, 64))
               if 4 + (i + 1) * size <= len(body)]
    for record in records:
        index = record[0] << 8 | record[1]
        if szl == 0x11 and size >= 28:
            _module_record(out, index, record)
        elif szl == 0x1C and size >= 34:
            _component_record(out, index, record)


def _module_record(out: S7Message, index: int, record: bytes) -> None:
    """SZL 0x0011: index, order number (20 chars), module type, two version words; for
    the hardware (6) and firmware (7) records the words hold 'V', major, minor, patch."""
    order = record[2:22].decode("latin-1").strip("\0 ")
    ausbg, ausbe = struct.unpack_from(">HH", record, 24)
    if index == 1 and order:
        out.identity["product_code"] = order
    elif index in (6, 7) and ausbg >> 8 == 0x56:
        version = f"V{ausbg & 0xFF}.{ausbe >> 8}.{ausbe & 0xFF}"
        out.identity["firmware" if index == 7 else "hardware"] = version


_COMPONENTS = {1: "name", 2: "module_name", 5: "serial", 7: "model"}


def _component_record(out: S7Message, index: int, record: bytes) -> None:
    key = _COMPONENTS.get(index)
    text = record[2:34].decode("latin-1").strip("\0 ")
    if key is not None and text:
        out.identity[key] = text
