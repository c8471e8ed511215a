"""Energy on the bus (ISO 50001): every configured meter in demand intervals, written as
derived tags `<area>/<line>/energy/interval/<signal>` stamped at the interval's start, daily
totals per meter, and an event when an interval's demand exceeds the meter's peak limit."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from isthmus.analytics.derived import DerivedSamples
from isthmus.analytics.energy.meter import EnergyInterval, MeterTracker
from isthmus.analytics.shifts import Period, ShiftCalendar
from isthmus.config.alarms import resolve_tag
from isthmus.config.schema import SiteConfig
from isthmus.model import Event, EventKind, SampleBatch, Severity, Tag, TagRegistry

__all__ = ["ENERGY_SIGNALS", "EnergyDay", "EnergyMonitor", "energy_derived_tags",
           "energy_tag_path"]

ENERGY_SIGNALS = ("kwh", "demand_kw", "units", "kwh_per_unit", "idle_kwh", "expected_kwh",
                  "enpi")
_GOOD_MASK = np.uint32(0xC0000000)
_NS = 1_000_000_000


def energy_tag_path(site: SiteConfig, meter: str, signal: str) -> str:
    return f"{site.enterprise}/{site.site}/{meter}/energy/interval/{signal}"


def energy_derived_tags(site: SiteConfig) -> list[Tag]:
    return [Tag(energy_tag_path(site, m.name, signal), unit=_UNITS.get(signal, ""),
                description=f"{signal} of {m.name} per {site.energy.interval} min",
                source={"connector": "analytics", "component": "energy"})
            for m in site.energy.meters for signal in ENERGY_SIGNALS]


_UNITS = {"kwh": "kWh", "demand_kw": "kW", "idle_kwh": "kWh", "expected_kwh": "kWh",
          "kwh_per_unit": "kWh/unit"}


@dataclass(slots=True)
class EnergyDay:
    """One meter's day: energy, units, idle energy, peak interval demand, and the energy
    expected by the baseline over the intervals that have an expectation."""

    meter: str
    day: Period
    kwh: float = 0.0
    units: float = 0.0
    idle_kwh: float = 0.0
    peak_kw: float = 0.0
    peak_at_ns: int = 0
    expected_kwh: float = 0.0
    kwh_with_expected: float = 0.0

    @property
    def kwh_per_unit(self) -> float | None:
        return self.kwh / self.units if self.units > 0 else None

    @property
    def enpi(self) -> float | None:
        return self.kwh_with_expected / self.expected_kwh if self.expected_kwh > 0 else None


class EnergyMonitor:
    """`update(batch)` returns peak events; interval values go to `derived`, days to `days`.
    `tick(now)` closes intervals that ended more than `grace_s` ago without a reading."""

    def __init__(self, site: SiteConfig, registry: TagRegistry, *, grace_s: float = 30.0,
                 keep_days: int = 400) -> None:
        self.site = site
        self._grace_ns = int(grace_s * _NS)
        self.calendar = ShiftCalendar(site.shifts, site.timezone)
        self.derived = DerivedSamples(registry)
        self.days: deque[EnergyDay] = deque(maxlen=keep_days)
        self._day: dict[str, EnergyDay] = {}
        self._events: list[Event] = []
        interval_s = site.energy.interval * 60
        self.meters = [MeterTracker(m, interval_s, self._closed) for m in site.energy.meters]
        self._routes: dict[int, list[tuple[int, str]]] = {}
        prefix = f"{site.enterprise}/{site.site}"
        for index, meter in enumerate(site.energy.meters):
            roles = [("energy", meter.kwh or meter.kw), ("state", meter.state),
                     *((f"units:{p}", p) for p in meter.production),
                     ("variable", meter.baseline.variable if meter.baseline else None)]
            for role, path in roles:
                if path is not None:
                    tag_id = registry.id_of(resolve_tag(prefix, path))
                    self._routes.setdefault(tag_id, []).append((index, role))
        self._ids = np.array(sorted(self._routes), np.int32)

    def update(self, batch: SampleBatch) -> list[Event]:
        if len(batch) and len(self._ids):
            mask = np.isin(batch.tag_id, self._ids) & ((batch.quality & _GOOD_MASK) == 0)
            rows = batch.take(mask)
            order = np.argsort(rows.ts, kind="stable")
            for tag_id, ts, value in zip(rows.tag_id[order].tolist(), rows.ts[order].tolist(),
                                         rows.value[order].tolist(), strict=True):
                for index, role in self._routes[tag_id]:
                    self._feed(self.meters[index], role, ts, value)
        events, self._events = self._events, []
        return events

    @staticmethod
    def _feed(meter: MeterTracker, role: str, ts: int, value: float) -> None:
        if role == "energy":
            meter.on_energy(ts, value)
        elif role == "state":
            meter.on_state(ts, value)
        elif role == "variable":
            meter.on_variable(ts, value)
        else:
            meter.on_units(role.removeprefix("units:"), ts, value)

    def tick(self, now_ns: int) -> list[Event]:
        for meter in self.meters:
            meter.advance(now_ns - self._grace_ns)
        events, self._events = self._events, []
        return events

    def finish(self) -> list[Event]:
        """Close the open intervals and days (reports over a stored window)."""
        for meter in self.meters:
            meter.finish()
        self.days.extend(self._day.values())
        self._day = {}
        events, self._events = self._events, []
        return events

    def _closed(self, interval: EnergyInterval) -> None:
        for signal in ENERGY_SIGNALS:
            value = getattr(interval, signal)
            if value is not None:
                self.derived.add(energy_tag_path(self.site, interval.meter, signal),
                                 interval.start_ns, float(value))
        self._add_to_day(interval)
        config = next(m for m in self.site.energy.meters if m.name == interval.meter)
        if config.peak_limit_kw is not None and interval.demand_kw > config.peak_limit_kw:
            self._events.append(self._peak_event(interval, config.peak_limit_kw))

    def _add_to_day(self, interval: EnergyInterval) -> None:
        period = self.calendar.day_at(interval.start_ns)
        day = self._day.get(interval.meter)
        if day is None or day.day != period:
            if day is not None:
                self.days.append(day)
            day = self._day[interval.meter] = EnergyDay(interval.meter, period)
        day.kwh += interval.kwh
        day.units += interval.units
        day.idle_kwh += interval.idle_kwh
        if interval.demand_kw > day.peak_kw:
            day.peak_kw, day.peak_at_ns = interval.demand_kw, interval.start_ns
        if interval.expected_kwh is not None:
            day.expected_kwh += interval.expected_kwh
            day.kwh_with_expected += interval.kwh

    def _peak_event(self, interval: EnergyInterval, limit: float) -> Event:
        minutes = (interval.end_ns - interval.start_ns) // (60 * _NS)
        return Event(interval.end_ns, EventKind.ALARM, Severity.MEDIUM,
                     f"energy {interval.meter}: {minutes}-min demand {interval.demand_kw:.1f} kW "
                     f"above the peak limit {limit:g} kW",
                     source="energy", asset=f"{self.site.enterprise}/{self.site.site}/"
                     f"{interval.meter}",
                     data={"energy": {"meter": interval.meter, "demand_kw": interval.demand_kw,
                                      "limit_kw": limit, "kwh": interval.kwh,
                                      "interval_start": interval.start_ns,
                                      "interval_end": interval.end_ns}})
