"""Modbus PDU handling for the simulator: function codes 1, 2, 3, 4 (reads) and 5, 6, 15, 16
(writes), answering with exception responses as the specification lays them out.

Pure: bytes in, bytes out, against anything that reads and writes a unit's tables.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence
from typing import Protocol

import numpy as np
import numpy.typing as npt

from isthmus.config.schema import RegisterTable
from isthmus.sim.errors import UnmappedAddressError

__all__ = ["GATEWAY_TARGET_FAILED", "ILLEGAL_DATA_ADDRESS", "ILLEGAL_DATA_VALUE",
           "ILLEGAL_FUNCTION", "UnitTables", "exception_pdu", "respond"]

ILLEGAL_FUNCTION = 0x01
ILLEGAL_DATA_ADDRESS = 0x02
ILLEGAL_DATA_VALUE = 0x03
GATEWAY_TARGET_FAILED = 0x0B

_ADDRESS_COUNT = struct.Struct(">HH")
_WRITE_MULTIPLE = struct.Struct(">HHB")


class UnitTables(Protocol):
    def read(self, table: RegisterTable, start: int, count: int) -> npt.NDArray[np.uint16]: ...

    def write(self, table: RegisterTable, start: int, values: Sequence[int]) -> None: ...


class _Refused(Exception):
    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


def exception_pdu(function: int, code: int) -> bytes:
    return bytes((function | 0x80, code))


def respond(unit: UnitTables, pdu: bytes) -> bytes:
    """The response PDU to request `pdu` (an exception response when refused)."""
    if not pdu:
        return exception_pdu(0, ILLEGAL_FUNCTION)
    function = pdu[0]
    handler = _HANDLERS.get(function)
    if handler is None:
        return exception_pdu(function, ILLEGAL_FUNCTION)
    try:
        return handler(unit, pdu)
    except _Refused as refused:
        return exception_pdu(function, refused.code)
    except UnmappedAddressError:
        return exception_pdu(function, ILLEGAL_DATA_ADDRESS)


def _address_count(pdu: bytes, limit: int) -> tuple[int, int]:
    if len(pdu) != 5:
        raise _Refused(ILLEGAL_DATA_VALUE)
    start, count = _ADDRESS_COUNT.unpack_from(pdu, 1)
    if not 1 <= count <= limit:
        raise _Refused(ILLEGAL_DATA_VALUE)
    if start + count > 0x10000:
        raise _Refused(ILLEGAL_DATA_ADDRESS)
    return start, count


def _read_bits(table: RegisterTable) -> Callable[[UnitTables, bytes], bytes]:
    def handle(unit: UnitTables, pdu: bytes) -> bytes:
        start, count = _address_count(pdu, 2000)
        packed = np.packbits(unit.read(table, start, count).astype(np.uint8),
                             bitorder="little").tobytes()
        return bytes((pdu[0], len(packed))) + packed
    return handle


def _read_registers(table: RegisterTable) -> Callable[[UnitTables, bytes], bytes]:
    def handle(unit: UnitTables, pdu: bytes) -> bytes:
        start, count = _address_count(pdu, 125)
        data = unit.read(table, start, count).astype(">u2").tobytes()
        return bytes((pdu[0], len(data))) + data
    return handle


def _write_coil(unit: UnitTables, pdu: bytes) -> bytes:
    if len(pdu) != 5:
        raise _Refused(ILLEGAL_DATA_VALUE)
    address, value = _ADDRESS_COUNT.unpack_from(pdu, 1)
    if value not in (0x0000, 0xFF00):
        raise _Refused(ILLEGAL_DATA_VALUE)
    unit.write(RegisterTable.COIL, address, [1 if value else 0])
    return pdu


def _write_register(unit: UnitTables, pdu: bytes) -> bytes:
    if len(pdu) != 5:
        raise _Refused(ILLEGAL_DATA_VALUE)
    address, value = _ADDRESS_COUNT.unpack_from(pdu, 1)
    unit.write(RegisterTable.HOLDING_REGISTER, address, [value])
    return pdu


def _write_multiple(unit: UnitTables, pdu: bytes, *, bits: bool) -> bytes:
    if len(pdu) < 6:
        raise _Refused(ILLEGAL_DATA_VALUE)
    start, count, byte_count = _WRITE_MULTIPLE.unpack_from(pdu, 1)
    limit, expected = (0x7B0, (count + 7) // 8) if bits else (0x7B, 2 * count)
    if not 1 <= count <= limit or byte_count != expected or len(pdu) != 6 + byte_count:
        raise _Refused(ILLEGAL_DATA_VALUE)
    if start + count > 0x10000:
        raise _Refused(ILLEGAL_DATA_ADDRESS)
    payload = np.frombuffer(pdu, np.uint8, byte_count, 6)
    if bits:
        values = np.unpackbits(payload, count=count, bitorder="little").tolist()
        unit.write(RegisterTable.COIL, start, values)
    else:
        unit.write(RegisterTable.HOLDING_REGISTER, start,
                   payload.view(">u2").astype(np.uint16).tolist())
    return pdu[:5]


_HANDLERS: dict[int, Callable[[UnitTables, bytes], bytes]] = {
    0x01: _read_bits(RegisterTable.COIL),
    0x02: _read_bits(RegisterTable.DISCRETE_INPUT),
    0x03: _read_registers(RegisterTable.HOLDING_REGISTER),
    0x04: _read_registers(RegisterTable.INPUT_REGISTER),
    0x05: _write_coil,
    0x06: _write_register,
    0x0F: lambda unit, pdu: _write_multiple(unit, pdu, bits=True),
    0x10: lambda unit, pdu: _write_multiple(unit, pdu, bits=False),
}
