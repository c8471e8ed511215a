"""The four Modbus tables of one simulated unit, and the encoding of engineering values
into them (raw = (value - offset) / scale, then the point's data type and byte/word order).

Encoding is vectorised per layout group (table, type, byte order, word order), and agrees
bit for bit with `isthmus.connectors.modbus.codec.encode_value` (tests hold it to that).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from isthmus.config.schema import Order, PointConfig, RegisterTable
from isthmus.connectors.modbus.codec import WORDS, decode_value
from isthmus.model import DataType
from isthmus.sim.errors import UnmappedAddressError

__all__ = ["RegisterImage"]

_BIG_ENDIAN: dict[DataType, str] = {
    DataType.INT16: ">i2", DataType.UINT16: ">u2", DataType.INT32: ">i4",
    DataType.UINT32: ">u4", DataType.FLOAT32: ">f4", DataType.INT64: ">i8",
    DataType.UINT64: ">u8", DataType.FLOAT64: ">f8",
}
_FULL_MAP = 65536


@dataclass(frozen=True)
class _Group:
    """Points sharing one table and one encoding: encoded in one numpy pass."""

    table: RegisterTable
    data_type: DataType
    byte_order: Order
    word_order: Order
    indices: npt.NDArray[np.intp]     # positions in the unit's value vector
    cells: npt.NDArray[np.intp]       # (n, words) register addresses, wire order
    scale: npt.NDArray[np.float64]
    offset: npt.NDArray[np.float64]

    def encode(self, values: npt.NDArray[np.float64]) -> npt.NDArray[np.uint16]:
        """(n, words) registers for `values` (engineering units)."""
        if self.data_type == DataType.BOOL:
            bits: npt.NDArray[np.uint16] = (values[self.indices] != 0).astype(np.uint16)
            return bits[:, None]
        raw = (values[self.indices] - self.offset) / self.scale
        raw[np.isnan(raw)] = 0.0
        dtype = np.dtype(_BIG_ENDIAN[self.data_type])
        if dtype.kind == "f":
            limit = float(np.finfo(dtype).max)
            raw = np.clip(raw, -limit, limit)
        else:
            info = np.iinfo(dtype)
            # float64 cannot hold every int64: clip in float, then saturate the cast
            raw = np.clip(np.rint(raw), float(info.min), float(info.max))
            if dtype.itemsize == 8:
                raw = np.clip(raw, float(info.min), np.nextafter(float(info.max), 0))
        words: npt.NDArray[np.uint16] = raw.astype(dtype).view(">u2").reshape(
            len(self.indices), -1).astype(np.uint16)   # most significant word first
        if self.word_order == Order.LITTLE:
            words = words[:, ::-1]
        if self.byte_order == Order.LITTLE:
            words = np.asarray((words >> 8) | ((words & 0xFF) << 8), np.uint16)
        return words


class RegisterImage:
    """Registers (uint16) and bits (uint8) of one unit, each table sized to its highest
    defined address, with a mask of which addresses the site file defines.

    With `strict_addresses` (the default) any access touching an undefined address raises
    `UnmappedAddressError` (served as Modbus exception 02), as many real PLCs do; otherwise
    every address 0–65535 answers and undefined ones read 0.
    """

    def __init__(self, points: Sequence[PointConfig], *, strict_addresses: bool = True) -> None:
        self.points = tuple(points)
        self.strict_addresses = strict_addresses
        self.tables: dict[RegisterTable, npt.NDArray[np.uint16]] = {}
        self.defined: dict[RegisterTable, npt.NDArray[np.bool_]] = {}
        for table in RegisterTable:
            ends = [p.address + WORDS[p.type] for p in self.points if p.table == table]
            size = _FULL_MAP if not strict_addresses else min(max(ends, default=0), _FULL_MAP)
            self.tables[table] = np.zeros(size, np.uint16)
            self.defined[table] = np.zeros(size, np.bool_) | (not strict_addresses)
        self._cells: list[npt.NDArray[np.intp]] = []
        for point in self.points:
            cells = np.arange(point.address, point.address + WORDS[point.type])
            if cells[-1] >= _FULL_MAP:
                raise UnmappedAddressError(
                    f"{point.table.value} {point.address}: a {point.type.value} there runs "
                    f"past address 65535")
            self._cells.append(cells)
            self.defined[point.table][cells] = True
        self._groups = self._group()

    def _group(self) -> list[_Group]:
        keys: dict[tuple[RegisterTable, DataType, Order, Order], list[int]] = {}
        for i, p in enumerate(self.points):
            keys.setdefault((p.table, p.type, p.byte_order, p.word_order), []).append(i)
        groups = []
        for (table, data_type, byte_order, word_order), members in keys.items():
            groups.append(_Group(
                table, data_type, byte_order, word_order,
                indices=np.array(members, np.intp),
                cells=np.stack([self._cells[i] for i in members]),
                scale=np.array([self.points[i].scale for i in members], np.float64),
                offset=np.array([self.points[i].offset for i in members], np.float64)))
        return groups

    def publish(self, values: npt.NDArray[np.float64]) -> None:
        """Encode one value per point (engineering units, in point order) into the tables."""
        for group in self._groups:
            self.tables[group.table][group.cells] = group.encode(values)

    def check(self, table: RegisterTable, start: int, count: int) -> None:
        """Raise `UnmappedAddressError` unless every address in [start, start+count) is
        defined for `table`."""
        mask = self.defined[table]
        end = start + count
        if end > mask.size or not mask[start:end].all():
            raise UnmappedAddressError(
                f"{table.value} {start}..{end - 1} touches an address the site file does "
                f"not define")

    def read(self, table: RegisterTable, start: int, count: int) -> npt.NDArray[np.uint16]:
        """A copy of `count` registers or bits from `start`."""
        self.check(table, start, count)
        return self.tables[table][start:start + count].copy()

    def write(self, table: RegisterTable, start: int, values: Sequence[int]) -> list[int]:
        """Store raw registers or bits; return the indices of the points they touch."""
        self.check(table, start, len(values))
        end = start + len(values)
        self.tables[table][start:end] = np.asarray(values, np.uint16)
        return [i for i, (p, cells) in enumerate(zip(self.points, self._cells, strict=True))
                if p.table == table and cells[0] < end and cells[-1] >= start]

    def engineering(self, index: int) -> float:
        """Decode point `index` from the tables back to engineering units."""
        point = self.points[index]
        regs = self.tables[point.table][self._cells[index]]
        raw = decode_value(regs.tolist(), point.type, byte_order=point.byte_order,
                           word_order=point.word_order)
        return raw * point.scale + point.offset
