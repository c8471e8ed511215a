"""Modbus PDU bodies (after the function code), request and response, as pure functions.

Each parser returns a `Pdu` of the fields it found, or raises `PduError` naming the byte
offset (inside the PDU) where the body stops making sense. Values outside the
specification's ranges do not stop parsing: they are listed in `Pdu.problems`.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from isthmus.security.dissectors.modbus.names import (
    DEVICE_ID_OBJECTS,
    DIAGNOSTICS,
    MEI_TYPES,
    UMAS,
    UMAS_FUNCTIONS,
)

__all__ = ["Pdu", "PduError", "parse_request", "parse_response"]

_HH = struct.Struct(">HH")
_HHB = struct.Struct(">HHB")
_HHH = struct.Struct(">HHH")
_RW = struct.Struct(">HHHHB")


class PduError(ValueError):
    """A PDU body that cannot be parsed; `offset` counts from the function code."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.offset = offset


@dataclass(slots=True)
class Pdu:
    address: int | None = None
    quantity: int | None = None
    values: list[int] | None = None
    subfunction: int | None = None
    name: str | None = None          # a more precise name (MEI type, UMAS function)
    operation: str | None = None     # overrides the function's operation when set
    detail: dict[str, Any] = field(default_factory=dict)
    problems: tuple[str, ...] = ()

    def problem(self, text: str) -> None:
        self.problems = (*self.problems, text)


def _exact(body: bytes, size: int, what: str) -> None:
    if len(body) != size:
        raise PduError(f"{what}: expected {size} bytes after the function code, got "
                       f"{len(body)}", 1 + min(len(body), size))


def _at_least(body: bytes, size: int, what: str) -> None:
    if len(body) < size:
        raise PduError(f"{what}: expected at least {size} bytes after the function code, "
                       f"got {len(body)}", 1 + len(body))


def _bits(data: bytes, count: int | None) -> list[int]:
    bits = [(byte >> i) & 1 for byte in data for i in range(8)]
    return bits[:count] if count is not None else bits


def _registers(data: bytes) -> list[int]:
    return list(struct.unpack(f">{len(data) // 2}H", data[:len(data) // 2 * 2]))


def _check_range(pdu: Pdu, quantity: int, low: int, high: int) -> None:
    if not low <= quantity <= high:
        pdu.problem(f"quantity {quantity} outside {low}..{high}")


def _byte_count(body: bytes, offset: int, count: int, what: str) -> bytes:
    data = body[offset + 1:]
    if len(data) != count:
        raise PduError(f"{what}: byte count {count} but {len(data)} bytes follow",
                       1 + offset)
    return data


# ---- requests ----------------------------------------------------------------------------

def _read_request(fc: int, body: bytes) -> Pdu:
    _exact(body, 4, "read request")
    address, quantity = _HH.unpack(body)
    pdu = Pdu(address, quantity)
    _check_range(pdu, quantity, 1, 2000 if fc in (1, 2) else 125)
    return pdu


def _write_single(fc: int, body: bytes) -> Pdu:
    _exact(body, 4, "write single")
    address, value = _HH.unpack(body)
    pdu = Pdu(address, 1, [value])
    if fc == 5:
        if value not in (0x0000, 0xFF00):
            pdu.problem(f"coil value {value:#06x} is neither 0xFF00 nor 0x0000")
        pdu.values = [1 if value == 0xFF00 else 0]
    return pdu


def _write_multiple(fc: int, body: bytes) -> Pdu:
    _at_least(body, 5, "write multiple request")
    address, quantity, count = _HHB.unpack_from(body)
    data = _byte_count(body, 4, count, "write multiple request")
    if fc == 15:
        pdu = Pdu(address, quantity, _bits(data, quantity))
        _check_range(pdu, quantity, 1, 1968)
        expected = (quantity + 7) // 8
    else:
        pdu = Pdu(address, quantity, _registers(data))
        _check_range(pdu, quantity, 1, 123)
        expected = quantity * 2
    if count != expected:
        pdu.problem(f"byte count {count} does not match quantity {quantity}")
    return pdu


def _empty(fc: int, body: bytes) -> Pdu:
    _exact(body, 0, "request")
    return Pdu()


def _diagnostics(fc: int, body: bytes) -> Pdu:
    _at_least(body, 2, "diagnostics")
    (sub,) = struct.unpack_from(">H", body)
    return Pdu(subfunction=sub, values=_registers(body[2:]),
               name=DIAGNOSTICS.get(sub, f"diagnostics_{sub}"))


def _file_records(body: bytes, *, with_data: bool) -> Pdu:
    _at_least(body, 1, "file record")
    data = _byte_count(body, 0, body[0], "file record")
    records: list[dict[str, int]] = []
    pos = 0
    while pos < len(data):
        if pos + 7 > len(data):
            raise PduError("file record: sub-request cut short", 2 + pos)
        ref, file_no, record, length = struct.unpack_from(">BHHH", data, pos)
        records.append({"reference_type": ref, "file": file_no, "record": record,
                        "length": length})
        pos += 7 + (length * 2 if with_data else 0)
    if pos != len(data):
        raise PduError("file record: data runs past the byte count", 2 + len(data))
    return Pdu(quantity=len(records), detail={"records": records})


def _read_file(fc: int, body: bytes) -> Pdu:
    return _file_records(body, with_data=False)


def _write_file(fc: int, body: bytes) -> Pdu:
    return _file_records(body, with_data=True)


def _mask_write(fc: int, body: bytes) -> Pdu:
    _exact(body, 6, "mask write register")
    address, and_mask, or_mask = _HHH.unpack(body)
    return Pdu(address, 1, detail={"and_mask": and_mask, "or_mask": or_mask})


def _read_write(fc: int, body: bytes) -> Pdu:
    _at_least(body, 9, "read/write multiple registers")
    read_addr, read_qty, write_addr, write_qty, count = _RW.unpack_from(body)
    data = _byte_count(body, 8, count, "read/write multiple registers")
    pdu = Pdu(write_addr, write_qty, _registers(data),
              detail={"read_address": read_addr, "read_quantity": read_qty})
    _check_range(pdu, read_qty, 1, 125)
    _check_range(pdu, write_qty, 1, 121)
    return pdu


def _fifo(fc: int, body: bytes) -> Pdu:
    _exact(body, 2, "read FIFO queue")
    return Pdu(address=struct.unpack(">H", body)[0])


def _mei_request(fc: int, body: bytes) -> Pdu:
    _at_least(body, 1, "encapsulated interface transport")
    mei = body[0]
    name, operation = MEI_TYPES.get(mei, (f"mei_{mei}", "encapsulated"))
    pdu = Pdu(subfunction=mei, name=name, operation=operation)
    if mei == 14:
        _exact(body, 3, "read device identification")
        pdu.detail = {"read_device_id_code": body[1], "object_id": body[2]}
    else:
        pdu.detail = {"data_length": len(body) - 1}
    return pdu


def _umas(fc: int, body: bytes) -> Pdu:
    _at_least(body, 2, "UMAS")
    code = body[1]
    return Pdu(subfunction=code, name=UMAS_FUNCTIONS.get(code, f"umas_{code:#04x}"),
               detail={"session": body[0], "data_length": len(body) - 2})


def _opaque(fc: int, body: bytes) -> Pdu:
    return Pdu(detail={"data_length": len(body)})


_Parser = Callable[[int, bytes], Pdu]

_REQUESTS: dict[int, _Parser] = {
    1: _read_request, 2: _read_request, 3: _read_request, 4: _read_request,
    5: _write_single, 6: _write_single, 7: _empty, 8: _diagnostics, 11: _empty, 12: _empty,
    15: _write_multiple, 16: _write_multiple, 17: _empty, 20: _read_file, 21: _write_file,
    22: _mask_write, 23: _read_write, 24: _fifo, 43: _mei_request, UMAS: _umas,
}


def parse_request(fc: int, body: bytes) -> Pdu:
    return _REQUESTS.get(fc, _opaque)(fc, body)


# ---- responses ---------------------------------------------------------------------------

def _read_response(fc: int, body: bytes, request: Pdu | None) -> Pdu:
    _at_least(body, 1, "read response")
    data = _byte_count(body, 0, body[0], "read response")
    address = request.address if request else None
    quantity = request.quantity if request else None
    if fc in (1, 2):
        return Pdu(address, quantity, _bits(data, quantity))
    if len(data) % 2:
        raise PduError(f"register response: odd byte count {len(data)}", 1)
    if fc == 23 and request is not None:
        address = request.detail.get("read_address")
        quantity = request.detail.get("read_quantity")
    pdu = Pdu(address, quantity, _registers(data))
    if quantity is not None and quantity * 2 != len(data):
        pdu.problem(f"{len(data) // 2} registers answered, {quantity} requested")
    return pdu


def _echo(fc: int, body: bytes, request: Pdu | None) -> Pdu:
    return _REQUESTS[fc](fc, body)


def _written(fc: int, body: bytes, request: Pdu | None) -> Pdu:
    _exact(body, 4, "write multiple response")
    address, quantity = _HH.unpack(body)
    return Pdu(address, quantity)


def _exception_status(fc: int, body: bytes, request: Pdu | None) -> Pdu:
    _exact(body, 1, "read exception status response")
    return Pdu(values=[body[0]])


def _event_counter(fc: int, body: bytes, request: Pdu | None) -> Pdu:
    _exact(body, 4, "comm event counter response")
    status, count = _HH.unpack(body)
    return Pdu(detail={"status": status, "event_count": count})


def _event_log(fc: int, body: bytes, request: Pdu | None) -> Pdu:
    _at_least(body, 7, "comm event log response")
    data = _byte_count(body, 0, body[0], "comm event log response")
    status, events, messages = struct.unpack_from(">HHH", data)
    return Pdu(values=list(data[6:]), detail={"status": status, "event_count": events,
                                              "message_count": messages})


def _server_id(fc: int, body: bytes, request: Pdu | None) -> Pdu:
    _at_least(body, 1, "report server id response")
    data = _byte_count(body, 0, body[0], "report server id response")
    return Pdu(detail={"server_id": data.hex(), "text": _text(data)})


def _read_file_response(fc: int, body: bytes, request: Pdu | None) -> Pdu:
    _at_least(body, 1, "read file record response")
    data = _byte_count(body, 0, body[0], "read file record response")
    pos, lengths = 0, []
    while pos < len(data):
        size = data[pos]
        if size < 1 or pos + 1 + size > len(data):
            raise PduError("read file record response: sub-response runs past the data",
                           2 + pos)
        lengths.append(size - 1)
        pos += 1 + size
    return Pdu(quantity=len(lengths), detail={"record_bytes": lengths})


def _fifo_response(fc: int, body: bytes, request: Pdu | None) -> Pdu:
    _at_least(body, 4, "read FIFO queue response")
    count, fifo = _HH.unpack_from(body)
    if count != len(body) - 2 or fifo * 2 + 2 != count:
        raise PduError(f"read FIFO queue response: byte count {count}, FIFO count {fifo}, "
                       f"{len(body) - 2} bytes", 1)
    return Pdu(address=request.address if request else None, quantity=fifo,
               values=_registers(body[4:]))


def _device_objects(body: bytes) -> dict[str, Any]:
    _at_least(body, 6, "read device identification response")
    code, conformity, more, next_id, count = body[1:6]
    objects: dict[str, str] = {}
    pos = 6
    for _ in range(count):
        if pos + 2 > len(body) or pos + 2 + body[pos + 1] > len(body):
            raise PduError("read device identification: object runs past the PDU", 1 + pos)
        obj, size = body[pos], body[pos + 1]
        objects[DEVICE_ID_OBJECTS.get(obj, f"object_{obj:#04x}")] = _text(
            body[pos + 2:pos + 2 + size])
        pos += 2 + size
    if pos != len(body):
        raise PduError(f"read device identification: {len(body) - pos} bytes after "
                       f"{count} objects", 1 + pos)
    return {"read_device_id_code": code, "conformity_level": conformity,
            "more_follows": more != 0, "next_object_id": next_id, "objects": objects}


def _mei_response(fc: int, body: bytes, request: Pdu | None) -> Pdu:
    _at_least(body, 1, "encapsulated interface transport response")
    mei = body[0]
    name, operation = MEI_TYPES.get(mei, (f"mei_{mei}", "encapsulated"))
    pdu = Pdu(subfunction=mei, name=name, operation=operation)
    pdu.detail = _device_objects(body) if mei == 14 else {"data_length": len(body) - 1}
    return pdu


def _umas_response(fc: int, body: bytes, request: Pdu | None) -> Pdu:
    _at_least(body, 2, "UMAS response")
    status = body[1]
    code = request.subfunction if request is not None else None
    name = UMAS_FUNCTIONS.get(code, f"umas_{code:#04x}") if code is not None else None
    return Pdu(subfunction=code, name=name,
               detail={"session": body[0], "status": UMAS_FUNCTIONS.get(status, status),
                       "data_length": len(body) - 2})


def _opaque_response(fc: int, body: bytes, request: Pdu | None) -> Pdu:
    return Pdu(detail={"data_length": len(body)})


def _text(data: bytes) -> str:
    return data.decode("latin-1").replace("\0", "")


_ResponseParser = Callable[[int, bytes, "Pdu | None"], Pdu]

_RESPONSES: dict[int, _ResponseParser] = {
    1: _read_response, 2: _read_response, 3: _read_response, 4: _read_response,
    5: _echo, 6: _echo, 7: _exception_status, 8: _echo, 11: _event_counter, 12: _event_log,
    15: _written, 16: _written, 17: _server_id, 20: _read_file_response, 21: _echo,
    22: _echo, 23: _read_response, 24: _fifo_response, 43: _mei_response,
    UMAS: _umas_response,
}


def parse_response(fc: int, body: bytes, request: Pdu | None) -> Pdu:
    """The response body of function `fc`; `request` is the paired request, if seen."""
    return _RESPONSES.get(fc, _opaque_response)(fc, body, request)
