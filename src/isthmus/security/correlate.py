"""Cyber-physical correlation: a write seen on the wire, named in the plant's terms.

A write request whose (server host, port, unit, table, address) falls on a tag of the
site's register map names that tag's UNS path and the value written, decoded with the
tag's type, word order and scale (the connector's own codec); with a historian, the
process value just before and just after the write is added. Each protocol brings a
resolver (event → tag writes); Modbus is the first one.

    correlator = Correlator(site, history=historian)
    for write in correlator.correlate(event):
        print(write.tag, write.value_written, write.before, write.after)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from isthmus.config.schema import ModbusDeviceConfig, PointConfig, RegisterTable, SiteConfig
from isthmus.connectors.modbus.codec import decode_value
from isthmus.model import DataType, SampleBatch
from isthmus.security.ecs import timestamp
from isthmus.security.events import ProtocolEvent

__all__ = ["Correlator", "ProcessHistory", "Reading", "SiteIndex", "TagWrite",
           "correlation_fields"]

_S = 1_000_000_000


class ProcessHistory(Protocol):
    """What correlation needs of a historian (the `Historian` protocol has it)."""

    def raw(self, tag: str, start_ns: int, end_ns: int, *,
            limit: int | None = None) -> SampleBatch: ...


@dataclass(frozen=True, slots=True)
class Reading:
    ts_ns: int
    value: float


@dataclass(frozen=True, slots=True)
class TagWrite:
    """One tag hit by one write: its UNS path, the engineering value written (None when the
    write covers only part of the tag's registers), and the process around it."""

    tag: str
    value_written: float | None
    raw: tuple[int, ...]
    unit: str
    ts_ns: int
    before: Reading | None = None
    after: Reading | None = None


@dataclass(frozen=True, slots=True)
class _Binding:
    path: str
    point: PointConfig


class SiteIndex:
    """The site's writable tables indexed by (host, port, unit, table) → address → tag."""

    def __init__(self, site: SiteConfig) -> None:
        self._points: dict[tuple[str, int, int, RegisterTable], dict[int, _Binding]] = {}
        for device in site.devices:
            self._add_device(site, device)

    def _add_device(self, site: SiteConfig, device: ModbusDeviceConfig) -> None:
        for unit in device.units:
            for signal, point in site.unit_points(device, unit).items():
                if point.table not in (RegisterTable.COIL, RegisterTable.HOLDING_REGISTER):
                    continue
                table = self._points.setdefault(
                    (device.host, device.port, unit.unit_id, point.table), {})
                table[point.address] = _Binding(site.tag_path(unit, signal), point)

    def bindings(self, host: str, port: int, unit_id: int, table: RegisterTable,
                 start: int, count: int) -> list[_Binding]:
        """Tags whose registers overlap [start, start + count), by address."""
        table_map = self._points.get((host, port, unit_id, table), {})
        return [b for address, b in sorted(table_map.items())
                if address < start + count and start < address + b.point.register_count]


Resolver = Callable[[ProtocolEvent, SiteIndex], list[TagWrite]]

_MODBUS_WRITES: dict[int, RegisterTable] = {
    5: RegisterTable.COIL, 15: RegisterTable.COIL,
    6: RegisterTable.HOLDING_REGISTER, 16: RegisterTable.HOLDING_REGISTER,
}


def _modbus(event: ProtocolEvent, index: SiteIndex) -> list[TagWrite]:
    fc, unit_id = getattr(event, "function_code", None), getattr(event, "unit_id", None)
    address, values = getattr(event, "address", None), getattr(event, "values", None)
    table = _MODBUS_WRITES.get(fc) if isinstance(fc, int) else None
    if (table is None or event.direction != "request" or not isinstance(unit_id, int)
            or not isinstance(address, int) or not values):
        return []
    out = []
    for binding in index.bindings(event.flow.dst, event.flow.dport, unit_id, table,
                                  address, len(values)):
        point = binding.point
        first = point.address - address
        raw = tuple(values[max(first, 0):first + point.register_count])
        complete = first >= 0 and len(raw) == point.register_count
        out.append(TagWrite(binding.path, _engineering(raw, point) if complete else None,
                            raw, point.unit, event.ts_ns))
    return out


def _engineering(raw: Sequence[int], point: PointConfig) -> float:
    if point.type == DataType.BOOL:
        return float(bool(raw[0]))
    value = decode_value(raw, point.type, byte_order=point.byte_order,
                         word_order=point.word_order)
    return value * point.scale + point.offset


#: protocol name → resolver; another protocol's writes are correlated by adding one here.
RESOLVERS: dict[str, Resolver] = {"modbus": _modbus}


class Correlator:
    """Names the tags an event writes; `history` (a historian) adds before/after values,
    looked up to `lookback_s` before and `horizon_s` after the write."""

    def __init__(self, site: SiteConfig, *, history: ProcessHistory | None = None,
                 lookback_s: float = 3600.0, horizon_s: float = 60.0) -> None:
        self.index = SiteIndex(site)
        self.history = history
        self._lookback_ns = int(lookback_s * _S)
        self._horizon_ns = int(horizon_s * _S)

    def correlate(self, event: ProtocolEvent) -> list[TagWrite]:
        resolver = RESOLVERS.get(event.protocol)
        if resolver is None:
            return []
        writes = resolver(event, self.index)
        if self.history is None:
            return writes
        return [self._with_history(w) for w in writes]

    def _with_history(self, write: TagWrite) -> TagWrite:
        assert self.history is not None
        try:
            earlier = self.history.raw(write.tag, write.ts_ns - self._lookback_ns,
                                       write.ts_ns + 1)
            later = self.history.raw(write.tag, write.ts_ns + 1,
                                     write.ts_ns + self._horizon_ns, limit=1)
        except LookupError:                 # a tag the historian has never stored
            return write
        return TagWrite(write.tag, write.value_written, write.raw, write.unit, write.ts_ns,
                        _reading(earlier, -1), _reading(later, 0))


def _reading(batch: SampleBatch, position: int) -> Reading | None:
    if len(batch) == 0:
        return None
    return Reading(int(np.asarray(batch.ts)[position]), float(np.asarray(batch.value)[position]))


def correlation_fields(writes: Sequence[TagWrite]) -> dict[str, Any]:
    """The `isthmus.*` ECS fields for an event's tag writes: `tag`, `value_written`,
    `before` and `after` ({value, timestamp}) for the first tag, and all of them under
    `writes` when one message wrote several tags."""
    if not writes:
        return {}
    docs = [_write_doc(w) for w in writes]
    out = dict(docs[0])
    if len(docs) > 1:
        out["writes"] = docs
    return out


def _write_doc(write: TagWrite) -> dict[str, Any]:
    doc: dict[str, Any] = {"tag": write.tag, "value_written": write.value_written,
                           "raw": list(write.raw)}
    if write.unit:
        doc["unit"] = write.unit
    for name in ("before", "after"):
        reading: Reading | None = getattr(write, name)
        if reading is not None:
            doc[name] = {"value": reading.value, "timestamp": timestamp(reading.ts_ns)}
    return doc
