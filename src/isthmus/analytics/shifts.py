"""Shifts and days in the site's time zone: which reporting period a timestamp falls in, and
each period's planned busy time (PBT, ISO 22400-2). DST changes are honoured."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from isthmus.config.efficiency import ShiftConfig

__all__ = ["DAY", "Period", "ShiftCalendar"]

DAY = "day"
_NS = 1_000_000_000


@dataclass(frozen=True, slots=True)
class Period:
    """A shift (or a whole day when `name` is "day") from `start_ns` to `end_ns` (UTC)."""

    name: str
    day: dt.date  # the local date the period starts on
    start_ns: int
    end_ns: int
    planned_busy_s: float

    def __contains__(self, ts_ns: object) -> bool:
        return isinstance(ts_ns, int) and self.start_ns <= ts_ns < self.end_ns

    @property
    def label(self) -> str:
        return self.day.isoformat() if self.name == DAY else f"{self.day.isoformat()} {self.name}"


class ShiftCalendar:
    """The site's shifts (sorted by start time; none declared means one shift a day from
    midnight, named "day")."""

    def __init__(self, shifts: Sequence[ShiftConfig], timezone: str = "UTC") -> None:
        self.zone = zoneinfo.ZoneInfo(timezone)
        declared = sorted(shifts, key=lambda s: s.minute_of_day)
        self.shifts = declared or [ShiftConfig(name=DAY, start="00:00")]
        names = [s.name for s in self.shifts]
        if len(set(names)) != len(names):
            raise ValueError(f"shift names must be unique, got {names}")
        self._current: dict[str, Period] = {}

    def _start_ns(self, day: dt.date, minute: int) -> int:
        local = dt.datetime.combine(day, dt.time(minute // 60, minute % 60), self.zone)
        return int(local.timestamp()) * _NS

    def _local_day(self, ts_ns: int) -> dt.date:
        return dt.datetime.fromtimestamp(ts_ns / _NS, self.zone).date()

    def shifts_of(self, day: dt.date) -> list[Period]:
        """The shifts that start on local date `day`."""
        starts = [self._start_ns(day, s.minute_of_day) for s in self.shifts]
        starts.append(self._start_ns(day + dt.timedelta(days=1), self.shifts[0].minute_of_day))
        out = []
        for i, shift in enumerate(self.shifts):
            length_s = (starts[i + 1] - starts[i]) / _NS
            busy = length_s if shift.planned_busy is None else min(length_s,
                                                                   shift.planned_busy * 60)
            out.append(Period(shift.name, day, starts[i], starts[i + 1], busy))
        return out

    def day_of(self, day: dt.date) -> Period:
        """Local date `day` as a period from the first shift's start; its PBT is the sum of
        its shifts' PBT."""
        shifts = self.shifts_of(day)
        return Period(DAY, day, shifts[0].start_ns, shifts[-1].end_ns,
                      sum(s.planned_busy_s for s in shifts))

    def shift_at(self, ts_ns: int) -> Period:
        return self._at(ts_ns, "shift")

    def day_at(self, ts_ns: int) -> Period:
        return self._at(ts_ns, DAY)

    def _at(self, ts_ns: int, kind: str) -> Period:
        cached = self._current.get(kind)
        if cached is not None and ts_ns in cached:
            return cached
        local = self._local_day(ts_ns)
        for day in (local - dt.timedelta(days=1), local):
            periods = [self.day_of(day)] if kind == DAY else self.shifts_of(day)
            for period in periods:
                if ts_ns in period:
                    self._current[kind] = period
                    return period
        raise AssertionError(f"no {kind} period holds {ts_ns}")  # shifts tile every day

    def periods(self, start_ns: int, end_ns: int, *, by: str = "shift") -> Iterator[Period]:
        """The shifts (or days, `by="day"`) that overlap [start_ns, end_ns), in order."""
        period = self._at(start_ns, DAY if by == DAY else "shift")
        while period.start_ns < end_ns:
            yield period
            period = self._at(period.end_ns, DAY if by == DAY else "shift")
