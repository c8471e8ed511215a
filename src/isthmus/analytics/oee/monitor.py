"""OEE on the bus: every configured line's state, reason and counters, closed per shift and
per day into derived tags `<area>/<line>/oee/<shift|day>/<kpi>` stamped at the period's
start."""

from __future__ import annotations

from collections import deque

import numpy as np

from isthmus.analytics.derived import DerivedSamples
from isthmus.analytics.oee.kpis import KPI_SIGNALS
from isthmus.analytics.oee.line import ClosedPeriod, LineTracker
from isthmus.analytics.shifts import DAY, ShiftCalendar
from isthmus.config.alarms import resolve_tag
from isthmus.config.schema import SiteConfig
from isthmus.model import Event, SampleBatch, Tag, TagRegistry

__all__ = ["OeeMonitor", "oee_derived_tags", "oee_tag_path"]

_GOOD_MASK = np.uint32(0xC0000000)
_NS = 1_000_000_000


def oee_tag_path(site: SiteConfig, line: str, period_kind: str, kpi: str) -> str:
    return f"{site.enterprise}/{site.site}/{line}/oee/{period_kind}/{kpi}"


def oee_derived_tags(site: SiteConfig) -> list[Tag]:
    return [Tag(oee_tag_path(site, line.name, kind, kpi),
                description=f"{kpi} of {line.name} per {kind} (ISO 22400-2)",
                source={"connector": "analytics", "component": "oee"})
            for line in site.oee.lines for kind in ("shift", DAY) for kpi in KPI_SIGNALS]


class OeeMonitor:
    """`update(batch)` feeds the lines; closed periods go to `derived` and `closed`.
    `tick(now)` closes periods that ended more than `grace_s` ago without data."""

    def __init__(self, site: SiteConfig, registry: TagRegistry, *, grace_s: float = 30.0,
                 keep_closed: int = 1000) -> None:
        self.site = site
        self.calendar = ShiftCalendar(site.shifts, site.timezone)
        self.derived = DerivedSamples(registry)
        self.closed: deque[ClosedPeriod] = deque(maxlen=keep_closed)
        self.lines = [LineTracker(line, self.calendar, self._closed) for line in site.oee.lines]
        self._grace_ns = int(grace_s * _NS)
        self._routes: dict[int, list[tuple[int, str]]] = {}
        prefix = f"{site.enterprise}/{site.site}"
        for index, line in enumerate(site.oee.lines):
            for role, path in (("state", line.state), ("good", line.good_count),
                               ("reject", line.reject_count), ("reason", line.reason)):
                if path is not None:
                    tag_id = registry.id_of(resolve_tag(prefix, path))
                    self._routes.setdefault(tag_id, []).append((index, role))
        self._ids = np.array(sorted(self._routes), np.int32)

    def tag_ids(self) -> list[int]:
        return [int(i) for i in self._ids]

    def update(self, batch: SampleBatch) -> list[Event]:
        if len(batch) == 0 or len(self._ids) == 0:
            return []
        mask = np.isin(batch.tag_id, self._ids) & ((batch.quality & _GOOD_MASK) == 0)
        if not mask.any():
            return []
        rows = batch.take(mask)
        order = np.argsort(rows.ts, kind="stable")
        for tag_id, ts, value in zip(rows.tag_id[order].tolist(), rows.ts[order].tolist(),
                                     rows.value[order].tolist(), strict=True):
            for index, role in self._routes[tag_id]:
                self._feed(self.lines[index], role, ts, value)
        return []

    @staticmethod
    def _feed(line: LineTracker, role: str, ts: int, value: float) -> None:
        if role == "state":
            line.on_state(ts, value)
        elif role == "reason":
            line.on_reason(ts, value)
        else:
            line.on_counter(role, ts, value)

    def tick(self, now_ns: int) -> list[Event]:
        for line in self.lines:
            if line.clock_ns is not None and now_ns - self._grace_ns > line.clock_ns:
                line.advance(now_ns - self._grace_ns)
        return []

    def finish(self, end_ns: int) -> None:
        """Close every open period at `end_ns` (reports over a stored window)."""
        for line in self.lines:
            line.finish(end_ns)

    def _closed(self, closed: ClosedPeriod) -> None:
        self.closed.append(closed)
        for kpi, value in closed.totals.values().items():
            if value is not None:
                self.derived.add(oee_tag_path(self.site, closed.line, closed.kind, kpi),
                                 closed.period.start_ns, value)
