"""Modbus register encoding and decoding: int16 … float64 in either byte and word order.

Decoding is vectorised: a group of points of one layout is decoded from a block of
registers in a handful of numpy operations, never one Python call per value.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from isthmus.config.schema import Order
from isthmus.model import DataType

__all__ = [
    "WORDS",
    "byte_index",
    "decode_gathered",
    "decode_registers",
    "decode_value",
    "encode_value",
    "wire_bytes",
]

#: 16-bit words each data type occupies.
WORDS: dict[DataType, int] = {
    DataType.BOOL: 1, DataType.INT16: 1, DataType.UINT16: 1,
    DataType.INT32: 2, DataType.UINT32: 2, DataType.FLOAT32: 2,
    DataType.INT64: 4, DataType.UINT64: 4, DataType.FLOAT64: 4,
}
_NUMPY: dict[DataType, str] = {
    DataType.INT16: "<i2", DataType.UINT16: "<u2", DataType.INT32: "<i4",
    DataType.UINT32: "<u4", DataType.FLOAT32: "<f4", DataType.INT64: "<i8",
    DataType.UINT64: "<u8", DataType.FLOAT64: "<f8",
}
_STRUCT: dict[DataType, str] = {
    DataType.INT16: "h", DataType.UINT16: "H", DataType.INT32: "i", DataType.UINT32: "I",
    DataType.FLOAT32: "f", DataType.INT64: "q", DataType.UINT64: "Q", DataType.FLOAT64: "d",
}


def decode_registers(
    registers: npt.NDArray[np.uint16],
    offsets: npt.NDArray[np.intp],
    data_type: DataType,
    *,
    byte_order: Order = Order.BIG,
    word_order: Order = Order.BIG,
) -> npt.NDArray[np.float64]:
    """Decode the values starting at each of `offsets` within `registers` (register values
    as the protocol delivers them, most significant byte first within a word)."""
    if data_type == DataType.BOOL:
        return registers[offsets].astype(np.float64)
    words = WORDS[data_type]
    index = offsets[:, None] + np.arange(words)[None, :]
    chunk = registers[index]                      # (n, words), first word on the wire first
    if byte_order == Order.LITTLE:
        chunk = (chunk >> 8) | ((chunk & 0xFF) << 8)
    if word_order == Order.BIG:
        chunk = chunk[:, ::-1]                    # little-endian assembly: least word first
    raw = np.ascontiguousarray(chunk, dtype="<u2")
    return raw.view(_NUMPY[data_type]).reshape(-1).astype(np.float64)


def encode_value(
    value: float,
    data_type: DataType,
    *,
    byte_order: Order = Order.BIG,
    word_order: Order = Order.BIG,
) -> list[int]:
    """Registers that hold `value` (rounded and clamped for integer types); for servers
    and simulators."""
    if data_type == DataType.BOOL:
        return [1 if value else 0]
    fmt = _STRUCT[data_type]
    if fmt not in "fd":
        info = np.iinfo(_NUMPY[data_type])
        value = int(min(max(round(value), int(info.min)), int(info.max)))
    words_be = struct.pack(">" + fmt, value)       # most significant word first
    regs = [int.from_bytes(words_be[i:i + 2], "big") for i in range(0, len(words_be), 2)]
    if word_order == Order.LITTLE:
        regs.reverse()
    if byte_order == Order.LITTLE:
        regs = [((r & 0xFF) << 8) | (r >> 8) for r in regs]
    return regs


def decode_value(registers: Sequence[int], data_type: DataType, *,
                 byte_order: Order = Order.BIG, word_order: Order = Order.BIG) -> float:
    """Decode one value (tests and tools; the poller uses `decode_registers`)."""
    regs = np.asarray(registers, dtype=np.uint16)
    return float(decode_registers(regs, np.zeros(1, np.intp), data_type,
                                  byte_order=byte_order, word_order=word_order)[0])


def byte_index(
    offsets: npt.NDArray[np.intp],
    data_type: DataType,
    *,
    byte_order: Order = Order.BIG,
    word_order: Order = Order.BIG,
) -> npt.NDArray[np.intp]:
    """For values starting at `offsets` (in registers), the indices of their bytes in the
    response's wire bytes (each register most significant byte first), least significant
    byte first: `wire[index].view('<…')` then decodes every value at once, whatever its
    byte and word order. Computed once at plan time."""
    words = WORDS[data_type]
    word_seq = np.arange(words) if word_order == Order.BIG else np.arange(words)[::-1]
    pair = np.array([0, 1]) if byte_order == Order.BIG else np.array([1, 0])
    msb_first = (2 * word_seq[:, None] + pair[None, :]).reshape(-1)   # within one value
    lsb_first = msb_first[::-1]
    index = 2 * np.asarray(offsets, dtype=np.intp)[:, None] + lsb_first[None, :]
    return np.asarray(index, dtype=np.intp)


def wire_bytes(registers: npt.NDArray[np.uint16]) -> npt.NDArray[np.uint8]:
    """The registers as the bytes that travelled on the wire (big-endian words)."""
    return registers.astype(">u2").view(np.uint8)


def decode_gathered(wire: npt.NDArray[np.uint8], index: npt.NDArray[np.intp],
                    data_type: DataType) -> npt.NDArray[np.generic]:
    """Values (in their native dtype) whose bytes `index` (from `byte_index`) selects."""
    return wire[index].view(_NUMPY[data_type]).reshape(-1)
