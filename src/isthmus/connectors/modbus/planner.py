"""Request planning: turn a device's points into as few Modbus reads as its limits allow.

Per unit, table and scan-rate class, points are sorted by address and merged while the
request stays within `max_registers`/`max_bits` and bridges gaps of at most `max_gap`.
Known holes (address ranges the device refused) are never spanned. Decoding layout is
fixed at plan time: each request holds numpy offset arrays per (type, byte, word order).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from isthmus.config.schema import (
    ModbusDeviceConfig,
    PointConfig,
    RegisterTable,
    SiteConfig,
)
from isthmus.connectors.modbus.codec import byte_index
from isthmus.model import DataType, TagRegistry

__all__ = [
    "FUNCTION_CODES",
    "DecodeGroup",
    "Hole",
    "PlannedPoint",
    "ReadRequest",
    "RequestPlan",
    "ScanGroup",
    "format_plan",
    "plan_requests",
    "plan_site",
]

_TYPE_ORDER = {t: i for i, t in enumerate(DataType)}
FUNCTION_CODES: dict[RegisterTable, int] = {
    RegisterTable.COIL: 1, RegisterTable.DISCRETE_INPUT: 2,
    RegisterTable.HOLDING_REGISTER: 3, RegisterTable.INPUT_REGISTER: 4,
}


@dataclass(frozen=True, slots=True)
class PlannedPoint:
    """One configured point, bound to its tag id and its slot in the plan's state arrays."""

    slot: int
    unit_id: int
    signal: str
    path: str
    tag_id: int
    point: PointConfig
    scan_rate: float

    @property
    def start(self) -> int:
        return self.point.address

    @property
    def end(self) -> int:
        return self.point.address + self.point.register_count


@dataclass(frozen=True, slots=True)
class Hole:
    """Addresses [start, end) of one unit's table that must never be read. `start == end`
    is a boundary: no request may contain both `start - 1` and `start`."""

    unit_id: int
    table: RegisterTable
    start: int
    end: int

    def blocks(self, start: int, end: int) -> bool:
        """Whether a read of [start, end) touches this hole (or spans this boundary)."""
        return start < self.end and end > self.start


@dataclass(frozen=True, slots=True, eq=False)
class DecodeGroup:
    """Points of one data type in a request, rows `rows` of its output. `offsets` are
    their register offsets in the response; `byte_index` (n, bytes) picks each value's
    bytes least significant first, with its byte and word order folded in (codec)."""

    data_type: DataType
    rows: slice
    offsets: npt.NDArray[np.intp]
    byte_index: npt.NDArray[np.intp]


@dataclass(frozen=True, slots=True, eq=False)
class ReadRequest:
    """One Modbus read and everything needed to turn its response into samples."""

    rid: int
    device: str
    unit_id: int
    table: RegisterTable
    start: int
    count: int
    scan_rate: float
    timeout: float
    points: tuple[PlannedPoint, ...]
    groups: tuple[DecodeGroup, ...]
    tag_ids: npt.NDArray[np.int32]
    slots: npt.NDArray[np.intp]
    scale: npt.NDArray[np.float64]
    offset: npt.NDArray[np.float64]
    low: npt.NDArray[np.float64]
    high: npt.NDArray[np.float64]
    has_range: bool

    @property
    def end(self) -> int:
        return self.start + self.count

    @property
    def function_code(self) -> int:
        return FUNCTION_CODES[self.table]

    def describe(self) -> str:
        return (f"device {self.device} unit {self.unit_id} {self.table.value} "
                f"{self.start}..{self.end - 1} ({len(self.points)} points)")


def build_request(rid: int, device: str, table: RegisterTable, scan_rate: float,
                  timeout: float, points: Sequence[PlannedPoint]) -> ReadRequest:
    """A request covering exactly `points` (one unit, one table), with its decode layout."""
    # Points are kept sorted by data type so that each type's rows are one slice.
    points = sorted(points, key=lambda p: (_TYPE_ORDER[p.point.type], p.start, p.slot))
    start = min(p.start for p in points)
    end = max(p.end for p in points)
    groups: list[DecodeGroup] = []
    for dtype, members in itertools.groupby(enumerate(points), key=lambda rp: rp[1].point.type):
        rows = [(r, p) for r, p in members]
        offsets = np.array([p.start - start for _, p in rows], dtype=np.intp)
        index = np.concatenate([
            byte_index(offsets[i:i + 1], dtype, byte_order=p.point.byte_order,
                       word_order=p.point.word_order) for i, (_, p) in enumerate(rows)])
        groups.append(DecodeGroup(dtype, slice(rows[0][0], rows[-1][0] + 1), offsets, index))
    inf = float("inf")
    return ReadRequest(
        rid=rid, device=device, unit_id=points[0].unit_id, table=table, start=start,
        count=end - start, scan_rate=scan_rate, timeout=timeout, points=tuple(points),
        groups=tuple(groups),
        tag_ids=np.array([p.tag_id for p in points], dtype=np.int32),
        slots=np.array([p.slot for p in points], dtype=np.intp),
        scale=np.array([p.point.scale for p in points], dtype=np.float64),
        offset=np.array([p.point.offset for p in points], dtype=np.float64),
        low=np.array([p.point.range[0] if p.point.range else -inf for p in points]),
        high=np.array([p.point.range[1] if p.point.range else inf for p in points]),
        has_range=any(p.point.range is not None for p in points),
    )


@dataclass(eq=False)
class ScanGroup:
    """The requests of one unit polled at one scan rate; one SampleBatch per poll."""

    device: str
    unit_id: int
    scan_rate: float
    requests: list[ReadRequest]


@dataclass(slots=True)
class _Split:
    gap: Hole
    pending: set[int]


@dataclass(eq=False)
class RequestPlan:
    """A device's reads. Mutable at run time: a request refused with an address error is
    split, and the holes found are remembered so the bad range is never read again."""

    device: str
    host: str
    port: int
    points: list[PlannedPoint]
    groups: list[ScanGroup]
    max_gap: int = 16
    max_registers: int = 125
    max_bits: int = 2000
    holes: set[Hole] = field(default_factory=set)
    #: Points that cannot be read (inside a hole, or wider than the request limit), why.
    unreadable: dict[int, str] = field(default_factory=dict)
    _rids: Iterator[int] = field(default_factory=itertools.count)
    _splits: dict[int, _Split] = field(default_factory=dict)

    def requests(self) -> Iterator[ReadRequest]:
        for group in self.groups:
            yield from group.requests

    @property
    def request_count(self) -> int:
        return sum(len(g.requests) for g in self.groups)

    def next_rid(self) -> int:
        return next(self._rids)

    def split(self, request: ReadRequest) -> list[ReadRequest]:
        """Replace a refused multi-point request by two halves; return them."""
        if len(request.points) < 2:
            raise ValueError(f"{request.describe()}: a single-point request cannot be split")
        self._forget(request.rid)
        pts = sorted(request.points, key=lambda p: (p.start, p.end))
        half = len(pts) // 2
        parts = [build_request(self.next_rid(), request.device, request.table,
                               request.scan_rate, request.timeout, chunk)
                 for chunk in (pts[:half], pts[half:])]
        if parts[0].end <= parts[1].start:
            gap = Hole(request.unit_id, request.table, parts[0].end, parts[1].start)
            record = _Split(gap, {parts[0].rid, parts[1].rid})
            self._splits[parts[0].rid] = self._splits[parts[1].rid] = record
        self._replace(request, parts)
        return parts

    def mark_unreadable(self, request: ReadRequest, reason: str) -> Hole:
        """Drop a refused single-point request: its range becomes a hole."""
        self._forget(request.rid)
        hole = Hole(request.unit_id, request.table, request.start, request.end)
        self.holes.add(hole)
        for p in request.points:
            self.unreadable[p.slot] = reason
        self._replace(request, [])
        return hole

    def record_success(self, request: ReadRequest) -> Hole | None:
        """Note that a split half was read; when both halves were, the gap between them is
        a hole (the merged read failed only because it spanned it). Returns a new hole."""
        record = self._splits.pop(request.rid, None)
        if record is None:
            return None
        record.pending.discard(request.rid)
        if record.pending:
            return None
        self.holes.add(record.gap)
        return record.gap

    def rebuild(self, group: ScanGroup) -> None:
        """Merge a group's reads afresh around the holes known now (after splits found
        some), so fragments left by splitting are joined again where that is safe."""
        for request in group.requests:
            self._forget(request.rid)
        timeouts = {r.table: r.timeout for r in group.requests}
        by_table: dict[RegisterTable, list[PlannedPoint]] = {}
        for request in group.requests:
            by_table.setdefault(request.table, []).extend(request.points)
        rebuilt: list[ReadRequest] = []
        for table in RegisterTable:
            if table not in by_table:
                continue
            limit = self.max_bits if table.is_bit else self.max_registers
            holes = [h for h in self.holes if h.unit_id == group.unit_id and h.table == table]
            for run in _merge_runs(by_table[table], limit, self.max_gap, holes):
                rebuilt.append(build_request(self.next_rid(), self.device, table,
                                             group.scan_rate, timeouts[table], run))
        group.requests[:] = rebuilt

    def _forget(self, rid: int) -> None:
        record = self._splits.pop(rid, None)
        if record is not None:
            for other in record.pending:
                self._splits.pop(other, None)

    def _replace(self, request: ReadRequest, parts: list[ReadRequest]) -> None:
        for group in self.groups:
            for i, candidate in enumerate(group.requests):
                if candidate is request:
                    group.requests[i:i + 1] = parts
                    return
        raise ValueError(f"{request.describe()} is not in the plan of {self.device}")


def _planned_points(site: SiteConfig, device: ModbusDeviceConfig,
                    registry: TagRegistry | None) -> list[PlannedPoint]:
    out: list[PlannedPoint] = []
    for unit in device.units:
        for signal, point in site.unit_points(device, unit).items():
            path = site.tag_path(unit, signal)
            tag_id = registry.id_of(path) if registry is not None else len(out) + 1
            out.append(PlannedPoint(len(out), unit.unit_id, signal, path, tag_id, point,
                                    point.scan_rate or device.scan_rate))
    return out


def _merge_runs(points: Sequence[PlannedPoint], limit: int, max_gap: int,
                holes: Sequence[Hole]) -> Iterator[list[PlannedPoint]]:
    """Greedy merge of address-sorted points into runs that respect the limits."""
    run: list[PlannedPoint] = []
    start = end = 0
    for p in sorted(points, key=lambda q: (q.start, q.end, q.slot)):
        if run:
            new_end = max(end, p.end)
            if (p.start - end <= max_gap and new_end - start <= limit
                    and not any(h.blocks(start, new_end) for h in holes)):
                run.append(p)
                end = new_end
                continue
            yield run
        run, start, end = [p], p.start, p.end
    if run:
        yield run


def plan_requests(device: ModbusDeviceConfig, site: SiteConfig, *,
                  registry: TagRegistry | None = None,
                  holes: Iterable[Hole] = ()) -> RequestPlan:
    """Plan the reads of one device. Tag ids come from `registry` (or are 1…n without one);
    `holes` are ranges known to be unreadable (from an earlier run)."""
    points = _planned_points(site, device, registry)
    plan = RequestPlan(device.name, device.host, device.port, points, [], device.max_gap,
                       device.max_registers, device.max_bits, set(holes))
    timeouts = {u.unit_id: u.timeout or device.timeout for u in device.units}
    classes: dict[tuple[int, float], dict[RegisterTable, list[PlannedPoint]]] = {}
    for p in points:
        limit = device.max_bits if p.point.table.is_bit else device.max_registers
        unit_holes = [h for h in plan.holes if h.unit_id == p.unit_id and h.table == p.point.table]
        if p.end > 65536:
            plan.unreadable[p.slot] = f"address {p.start}+{p.point.register_count} passes 65535"
        elif p.point.register_count > limit:
            plan.unreadable[p.slot] = (f"{p.point.type.value} needs {p.point.register_count} "
                                       f"registers; max_registers is {limit}")
        elif any(h.blocks(p.start, p.end) for h in unit_holes):
            plan.unreadable[p.slot] = "inside a known unreadable address range"
        else:
            classes.setdefault((p.unit_id, p.scan_rate), {}).setdefault(
                p.point.table, []).append(p)
    for (unit_id, rate), tables in sorted(classes.items()):
        group = ScanGroup(device.name, unit_id, rate, [])
        for table in RegisterTable:
            table_points = tables.get(table, [])
            limit = device.max_bits if table.is_bit else device.max_registers
            table_holes = [h for h in plan.holes if h.unit_id == unit_id and h.table == table]
            for run in _merge_runs(table_points, limit, device.max_gap, table_holes):
                group.requests.append(build_request(plan.next_rid(), device.name, table, rate,
                                                    timeouts[unit_id], run))
        plan.groups.append(group)
    return plan


def plan_site(site: SiteConfig, *, registry: TagRegistry | None = None) -> list[RequestPlan]:
    """One plan per configured device, in configuration order."""
    return [plan_requests(d, site, registry=registry) for d in site.devices]


def _signals(request: ReadRequest, limit: int = 6) -> str:
    names = [p.signal for p in sorted(request.points, key=lambda p: (p.start, p.slot))]
    shown = ", ".join(names[:limit])
    return shown + (f", … (+{len(names) - limit})" if len(names) > limit else "")


def _format_one(plan: RequestPlan) -> list[str]:
    lines = [f"device {plan.device}  {plan.host}:{plan.port}",
             f"  {'unit':>4}  {'fc':>2}  {'table':<16}  {'start':>5}  {'count':>5}  "
             f"{'points':>6}  {'scan_s':>6}  signals"]
    for r in plan.requests():
        lines.append(f"  {r.unit_id:>4}  {r.function_code:>2}  {r.table.value:<16}  "
                     f"{r.start:>5}  {r.count:>5}  {len(r.points):>6}  {r.scan_rate:>6g}  "
                     f"{_signals(r)}")
    by_slot = {p.slot: p for p in plan.points}
    for slot, reason in sorted(plan.unreadable.items()):
        p = by_slot[slot]
        lines.append(f"  unreadable: unit {p.unit_id} {p.point.table.value} {p.start} "
                     f"{p.signal}: {reason}")
    for h in sorted(plan.holes, key=lambda h: (h.unit_id, h.table.value, h.start, h.end)):
        lines.append(f"  hole: unit {h.unit_id} {h.table.value} {h.start}..{h.end - 1}")
    return lines


def _totals(plans: Sequence[RequestPlan]) -> str:
    requests = sum(p.request_count for p in plans)
    tags = sum(len(p.points) for p in plans)
    read = tags - sum(len(p.unreadable) for p in plans)
    rate = sum(1.0 / r.scan_rate for p in plans for r in p.requests())
    naive_rate = sum(1.0 / pt.scan_rate for p in plans for pt in p.points
                     if pt.slot not in p.unreadable)
    ratio = f"{read / requests:.1f}x fewer" if requests else "nothing to read"
    return (f"total: {requests} requests per cycle for {tags} tags ({read} readable); "
            f"one request per tag: {read}; {ratio}; {rate:.3g} requests/s "
            f"(one per tag: {naive_rate:.3g}/s)")


def format_plan(plan: RequestPlan | Sequence[RequestPlan]) -> str:
    """Human-readable table of the planned reads with totals (for `isthmus plan`)."""
    plans = [plan] if isinstance(plan, RequestPlan) else list(plan)
    lines: list[str] = []
    for one in plans:
        lines.extend(_format_one(one))
    lines.append(_totals(plans))
    return "\n".join(lines) + "\n"
