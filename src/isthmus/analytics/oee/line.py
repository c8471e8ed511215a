"""One line's OEE over time: the machine state holds from its sample to the next (time is
split at shift and day boundaries), counters give quantities by their increase (a uint32
roll-over is an increase, a drop to a small value is a reset), and each period is closed
with its totals when time passes its end.

A period observed only in part (data starting or ending inside it) has its planned busy
time prorated to the observed span."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from isthmus.analytics.oee.kpis import OeeTotals
from isthmus.analytics.shifts import DAY, Period, ShiftCalendar
from isthmus.config.efficiency import OeeLineConfig

__all__ = ["ClosedPeriod", "LineTracker", "counter_increase"]

_WRAP = 2**32
_NS = 1e9


def counter_increase(old: float, new: float) -> float:
    """Units counted between two readings of a uint32 counter."""
    if new >= old:
        return new - old
    if old >= _WRAP / 2:  # rolled over
        return new + _WRAP - old
    return new  # reset to zero, then counted up to `new`


@dataclass(frozen=True, slots=True)
class ClosedPeriod:
    line: str
    kind: str  # "shift" or "day"
    period: Period
    totals: OeeTotals


@dataclass(slots=True)
class _Open:
    period: Period
    totals: OeeTotals
    first_ns: int
    last_ns: int


class LineTracker:
    """`state`, `reason` and counter samples of one line, in time order."""

    def __init__(self, config: OeeLineConfig, calendar: ShiftCalendar,
                 on_close: Callable[[ClosedPeriod], None]) -> None:
        self.config = config
        self.calendar = calendar
        self._on_close = on_close
        self._running = frozenset(config.running)
        self._down = frozenset(config.down)
        self.state: float | None = None
        self.reason: float | None = None
        self.clock_ns: int | None = None  # time attributed so far
        self._counters: dict[str, float] = {}
        self._open: dict[str, _Open] = {}  # "shift" and "day"

    # --- samples --------------------------------------------------------------------------
    def on_state(self, ts: int, value: float) -> None:
        self.advance(ts)
        if value in self._down and self.state not in self._down:
            for slot in self._slots(ts):
                slot.totals.failures += 1
        self.state = value

    def on_reason(self, ts: int, value: float) -> None:
        self.advance(ts)
        self.reason = value

    def on_counter(self, kind: str, ts: int, value: float) -> None:
        """`kind` is "good" or "reject"."""
        self.advance(ts)
        old = self._counters.get(kind)
        self._counters[kind] = value
        if old is None:
            return
        units = counter_increase(old, value)
        for slot in self._slots(ts):
            slot.totals.pq += units
            if kind == "good":
                slot.totals.gq += units

    # --- time -----------------------------------------------------------------------------
    def advance(self, ts: int) -> None:
        """Attribute the time from the last sample to `ts` to the state then held."""
        if self.clock_ns is None:
            self.clock_ns = ts
        while self.clock_ns < ts:
            slots = self._slots(self.clock_ns)
            step_end = min([ts, *(s.period.end_ns for s in slots)])
            seconds = (step_end - self.clock_ns) / _NS
            for slot in slots:
                self._attribute(slot, seconds)
                slot.last_ns = step_end
            self.clock_ns = step_end
        self._close_before(ts)

    def _attribute(self, slot: _Open, seconds: float) -> None:
        totals = slot.totals
        if self.state in self._running:
            totals.apt_s += seconds
        elif self.state in self._down:
            totals.downtime_s += seconds
            reason = self._reason_label()
            totals.downtime_by_reason[reason] = totals.downtime_by_reason.get(reason, 0.0) \
                + seconds

    def _reason_label(self) -> str:
        if self.config.reason is None or self.reason is None:
            return f"state {self.state:g}"
        code = int(self.reason)
        return self.config.reasons.get(code, f"reason {code}")

    def _slots(self, ts: int) -> list[_Open]:
        slots = []
        for kind in ("shift", DAY):
            slot = self._open.get(kind)
            if slot is not None and ts >= slot.period.end_ns:
                self._close(kind)
                slot = None
            if slot is None:
                period = self.calendar.day_at(ts) if kind == DAY else \
                    self.calendar.shift_at(ts)
                slot = _Open(period, OeeTotals(self.config.ideal_cycle), ts, ts)
                self._open[kind] = slot
            slots.append(slot)
        return slots

    def _close_before(self, ts: int) -> None:
        for kind in list(self._open):
            if ts >= self._open[kind].period.end_ns:
                self._close(kind)

    def _close(self, kind: str) -> None:
        slot = self._open.pop(kind)
        period = slot.period
        span = (period.end_ns - period.start_ns)
        observed = (min(slot.last_ns, period.end_ns) - max(slot.first_ns, period.start_ns))
        share = 1.0 if slot.last_ns >= period.end_ns and slot.first_ns <= period.start_ns \
            else max(observed, 0) / span
        slot.totals.pbt_s = period.planned_busy_s * share
        self._on_close(ClosedPeriod(self.config.name, kind, period, slot.totals))

    def finish(self, end_ns: int) -> None:
        """Attribute time up to `end_ns` and close every open period (for reports)."""
        if self.clock_ns is not None:
            self.advance(end_ns)
        for kind in list(self._open):
            self._close(kind)
