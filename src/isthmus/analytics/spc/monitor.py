"""SPC on the bus: the site's control charts over the sample stream (rule events), and the
capability of each charted tag per shift (Cp, Cpk, Pp, Ppk as derived tags `<signal>_cpk`…,
stamped at the shift's start, written when the shift ends)."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from isthmus.analytics.derived import DerivedSamples
from isthmus.analytics.shifts import Period, ShiftCalendar
from isthmus.analytics.spc.capability import Capability, CapabilityAccumulator
from isthmus.analytics.spc.chart import ControlChart
from isthmus.config.alarms import resolve_tag
from isthmus.config.efficiency import SpcChartConfig, SpecLimits
from isthmus.config.schema import SiteConfig
from isthmus.model import Event, SampleBatch, Tag, TagRegistry

__all__ = ["CAPABILITY_SIGNALS", "SpcMonitor", "spc_derived_tags", "spec_of"]

CAPABILITY_SIGNALS = ("cp", "cpk", "pp", "ppk")
_GOOD_MASK = np.uint32(0xC0000000)


def spec_of(site: SiteConfig, chart: SpcChartConfig) -> SpecLimits | None:
    """The chart's spec limits, else those of its tag's point."""
    if chart.spec is not None:
        return chart.spec
    path = resolve_tag(f"{site.enterprise}/{site.site}", chart.tag)
    for device in site.devices:
        for unit in device.units:
            for signal, point in site.unit_points(device, unit).items():
                if site.tag_path(unit, signal) == path:
                    return point.spec
    return None


def spc_derived_tags(site: SiteConfig) -> list[Tag]:
    """The capability tags of every chart that has spec limits."""
    tags = []
    for chart in site.spc.charts:
        if spec_of(site, chart) is None:
            continue
        path = resolve_tag(f"{site.enterprise}/{site.site}", chart.tag)
        for signal in CAPABILITY_SIGNALS:
            tags.append(Tag(f"{path}_{signal}", description=f"{signal} of {path} per shift",
                            source={"connector": "analytics", "component": "spc"}))
    return tags


@dataclass(slots=True)
class _Charted:
    path: str
    chart: ControlChart
    spec: SpecLimits | None
    period: Period | None = None
    totals: CapabilityAccumulator | None = None


class SpcMonitor:
    """Every configured chart. `update(batch)` returns rule events; capability per shift
    goes to `derived` (drained by the caller)."""

    def __init__(self, site: SiteConfig, registry: TagRegistry, *,
                 keep_closed: int = 1000) -> None:
        self.closed: deque[tuple[str, Period, Capability]] = deque(maxlen=keep_closed)
        self.calendar = ShiftCalendar(site.shifts, site.timezone)
        self.registry = registry
        self.derived = DerivedSamples(registry)
        self._charts: dict[int, _Charted] = {}
        prefix = f"{site.enterprise}/{site.site}"
        for config in site.spc.charts:
            path = resolve_tag(prefix, config.tag)
            tag_id = registry.id_of(path)
            chart = ControlChart(config, path, path.rsplit("/", 1)[0])
            self._charts[tag_id] = _Charted(path, chart, spec_of(site, config))
        self._ids = np.array(sorted(self._charts), np.int32)

    def update(self, batch: SampleBatch) -> list[Event]:
        if len(batch) == 0 or len(self._ids) == 0:
            return []
        mask = np.isin(batch.tag_id, self._ids) & ((batch.quality & _GOOD_MASK) == 0)
        if not mask.any():
            return []
        rows = batch.take(mask)
        events: list[Event] = []
        for tag_id in np.unique(rows.tag_id).tolist():
            mine = rows.take(rows.tag_id == tag_id)
            order = np.argsort(mine.ts, kind="stable")
            ts, values = mine.ts[order], mine.value[order]
            charted = self._charts[int(tag_id)]
            events += charted.chart.add(ts, values)
            self._accumulate(charted, ts, values)
        return sorted(events, key=lambda e: e.ts)

    def tick(self, now_ns: int) -> list[Event]:
        for charted in self._charts.values():
            if charted.period is not None and now_ns >= charted.period.end_ns:
                self._close(charted)
        return []

    def finish(self) -> None:
        """Close every open shift (reports over a stored window)."""
        for charted in self._charts.values():
            self._close(charted)

    def _accumulate(self, charted: _Charted, ts: np.ndarray, values: np.ndarray) -> None:
        if charted.spec is None:
            return
        start = 0
        while start < len(ts):
            first = int(ts[start])
            if charted.period is None or first not in charted.period:
                self._close(charted)
                charted.period = self.calendar.shift_at(first)
                charted.totals = CapabilityAccumulator(charted.chart.size)
            stop = int(np.searchsorted(ts, charted.period.end_ns, side="left"))
            assert charted.totals is not None
            charted.totals.add(values[start:stop])
            start = stop

    def _close(self, charted: _Charted) -> None:
        if charted.period is None or charted.totals is None or charted.spec is None:
            return
        result = charted.totals.result(charted.spec)
        if result is not None:
            self.closed.append((charted.path, charted.period, result))
            self._emit(charted.path, charted.period, result)
        charted.period, charted.totals = None, None

    def _emit(self, path: str, period: Period, result: Capability) -> None:
        for signal in CAPABILITY_SIGNALS:
            value = getattr(result, signal)
            if value is not None:
                self.derived.add(f"{path}_{signal}", period.start_ns, float(value))
