"""One energy scope over time, in demand intervals (15 minutes by default, aligned to the
hour): energy from a kWh counter (the increase between two readings is spread evenly over
the time between them) or from a kW tag (held until the next reading), units produced from
counters, idle energy (used while the line was not producing), and the relevant variable's
interval mean.

Idle: with a `state` tag, energy between two readings is idle when the state at the earlier
reading was not a producing one; without one, an interval that produced nothing is idle."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from isthmus.analytics.energy.baseline import BaselineModel, fit_baseline
from isthmus.analytics.oee.line import counter_increase
from isthmus.config.efficiency import EnergyMeterConfig

__all__ = ["EnergyInterval", "MeterTracker"]

_NS = 1_000_000_000


@dataclass(slots=True)
class EnergyInterval:
    meter: str
    start_ns: int
    end_ns: int
    kwh: float = 0.0
    idle_kwh: float = 0.0
    units: float = 0.0
    variable_sum: float = 0.0
    variable_n: int = 0
    expected_kwh: float | None = None

    @property
    def demand_kw(self) -> float:
        """Average power over the interval (kWh × 4 for 15 minutes)."""
        return self.kwh * 3600 * _NS / (self.end_ns - self.start_ns)

    @property
    def variable(self) -> float | None:
        return self.variable_sum / self.variable_n if self.variable_n else None

    @property
    def kwh_per_unit(self) -> float | None:
        return self.kwh / self.units if self.units > 0 else None

    @property
    def enpi(self) -> float | None:
        if self.expected_kwh is None or self.expected_kwh <= 0:
            return None
        return self.kwh / self.expected_kwh


class MeterTracker:
    """Samples of one meter's tags in time order; closed intervals go to `on_close`."""

    def __init__(self, config: EnergyMeterConfig, interval_s: int,
                 on_close: Callable[[EnergyInterval], None]) -> None:
        self.config = config
        self.length_ns = interval_s * _NS
        self._on_close = on_close
        self._producing_states = frozenset(config.producing)
        self.producing: bool | None = None  # from the state tag, if any
        self._energy_at: tuple[int, float] | None = None  # last kWh (or kW) reading
        self._producing_then: bool | None = None
        self._counters: dict[str, float] = {}
        self._open: dict[int, EnergyInterval] = {}  # by start; closed by energy readings
        self._closed_until = 0
        self._baseline: list[EnergyInterval] = []
        self.model: BaselineModel | None = None
        self.baseline_error: str | None = None
        bl = config.baseline
        self._window = None if bl is None else (int(bl.start.timestamp()) * _NS,
                                                int(bl.end.timestamp()) * _NS)

    # --- samples --------------------------------------------------------------------------
    def on_energy(self, ts: int, value: float) -> None:
        """A kWh counter reading, or a kW reading (per the meter's config)."""
        previous, self._energy_at = self._energy_at, (ts, value)
        idle = self._producing_then is False
        self._producing_then = self.producing
        if previous is None or ts <= previous[0]:
            self._interval(ts)
            self.advance(ts)
            return
        t0, v0 = previous
        kwh = value - v0 if self.config.kwh is not None else v0 * (ts - t0) / (3600 * _NS)
        if self.config.kwh is not None and kwh < 0:
            kwh = 0.0  # meter replaced or reset: the reading restarts the count
        self._spread(t0, ts, kwh, idle)

    def on_state(self, ts: int, value: float) -> None:
        self._interval(ts)
        self.producing = value in self._producing_states
        if self._producing_then is None:
            self._producing_then = self.producing

    def on_units(self, tag: str, ts: int, value: float) -> None:
        old = self._counters.get(tag)
        self._counters[tag] = value
        interval = self._interval(ts)
        if old is not None:
            interval.units += counter_increase(old, value)

    def on_variable(self, ts: int, value: float) -> None:
        interval = self._interval(ts)
        interval.variable_sum += value
        interval.variable_n += 1

    # --- intervals ------------------------------------------------------------------------
    def _spread(self, t0: int, t1: int, kwh: float, idle: bool) -> None:
        """Spread `kwh` used over [t0, t1) evenly across the intervals it covers."""
        start = t0
        while start < t1:
            interval = self._interval(start)
            stop = min(t1, interval.end_ns)
            share = kwh * (stop - start) / (t1 - t0)
            interval.kwh += share
            if idle:
                interval.idle_kwh += share
            start = stop
        self._interval(t1)
        self.advance(t1)

    def _interval(self, ts: int) -> EnergyInterval:
        """The interval holding `ts` (a late sample, before the closed ones, joins the first
        open interval)."""
        ts = max(ts, self._closed_until)
        start = ts - ts % self.length_ns
        interval = self._open.get(start)
        if interval is None:
            interval = self._open[start] = EnergyInterval(self.config.name, start,
                                                          start + self.length_ns)
        return interval

    def advance(self, ts: int) -> None:
        """Close the intervals that end at or before `ts`, in order: energy is known up to
        a meter reading, or time passed without data."""
        for start in sorted(self._open):
            if self._open[start].end_ns <= ts:
                self._close(self._open.pop(start))

    def _close(self, interval: EnergyInterval) -> None:
        self._closed_until = max(self._closed_until, interval.end_ns)
        if self.config.state is None and interval.units == 0:
            interval.idle_kwh = interval.kwh
        self._learn(interval)
        if self.model is not None:
            interval.expected_kwh = self.model.expected(interval.units, interval.variable)
        self._on_close(interval)

    def _learn(self, interval: EnergyInterval) -> None:
        if self._window is None or self.model is not None or self.baseline_error:
            return
        start, end = self._window
        if interval.start_ns >= start and interval.end_ns <= end:
            self._baseline.append(interval)
        elif interval.end_ns > end:
            self._fit()

    def _fit(self) -> None:
        usable = [i for i in self._baseline
                  if self.config.baseline is None or self.config.baseline.variable is None
                  or i.variable is not None]
        variable = None if self.config.baseline is None or \
            self.config.baseline.variable is None else [i.variable or 0.0 for i in usable]
        try:
            self.model = fit_baseline([i.kwh for i in usable], [i.units for i in usable],
                                      variable)
        except ValueError as exc:
            self.baseline_error = f"energy meter {self.config.name}: {exc}"
        self._baseline = []

    def finish(self) -> None:
        """End of the data: the intervals still open are incomplete and are left out."""
        self._open = {}
