"""Alarm-system performance per ISA-18.2 and EEMUA 191, from stored alarm records alone:
alarm rate per operator position, floods, standing, chattering and fleeting alarms, the
priority mix, and the bad actors."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from isthmus.analytics.alarms.records import AlarmRecord
from isthmus.analytics.alarms.states import AlarmState
from isthmus.config.alarms import Priority

__all__ = ["KPI_COLUMNS", "AlarmKpis", "AreaLoad", "BadActor", "KpiSettings", "compute_kpis"]

_S = 1_000_000_000
#: the share of annunciations per priority that ISA-18.2 and EEMUA 191 suggest
PRIORITY_TARGET = {Priority.LOW: 80.0, Priority.MEDIUM: 15.0, Priority.HIGH: 5.0,
                   Priority.CRITICAL: 0.0}
KPI_COLUMNS = ["kpi", "scope", "value", "target", "assessment"]


@dataclass(frozen=True, slots=True)
class KpiSettings:
    period_ns: int = 600 * _S  # the 10-minute period of alarm-rate KPIs
    flood_above: int = 10  # more alarms than this in one period is a flood
    standing_ns: int = 24 * 3600 * _S
    chatter_count: int = 3
    chatter_window_ns: int = 60 * _S
    fleeting_ns: int = 2 * _S  # cleared faster than anyone could act
    top: int = 10


@dataclass(frozen=True, slots=True)
class AreaLoad:
    """Alarm load on one operator position (or all of them: area "*")."""

    area: str
    annunciations: int
    periods: int
    per_period_avg: float
    per_period_peak: int
    flood_periods: int

    @property
    def flood_share(self) -> float:
        return 100.0 * self.flood_periods / self.periods if self.periods else 0.0


@dataclass(frozen=True, slots=True)
class BadActor:
    alarm: str
    tag: str
    count: int
    share: float  # percent of all annunciations


@dataclass(frozen=True, slots=True)
class AlarmKpis:
    start_ns: int
    end_ns: int
    settings: KpiSettings
    annunciations: int
    areas: tuple[AreaLoad, ...]
    total: AreaLoad
    standing: tuple[str, ...]
    chattering: tuple[tuple[str, int], ...]  # (alarm, most annunciations in one window)
    fleeting: tuple[tuple[str, int], ...]  # (alarm, fleeting activations)
    priority_share: tuple[tuple[Priority, float], ...]
    bad_actors: tuple[BadActor, ...]

    @property
    def per_hour_avg(self) -> float:
        return self.annunciations * 3600 * _S / max(1, self.end_ns - self.start_ns)

    @property
    def bad_actor_share(self) -> float:
        return sum(b.share for b in self.bad_actors)

    def rows(self) -> list[list[object]]:
        """The report as rows of KPI_COLUMNS."""
        rows: list[list[object]] = [
            ["annunciations", "*", self.annunciations, "", ""],
            ["alarms_per_hour_avg", "*", self.per_hour_avg, "≤ 6", _judge(
                self.per_hour_avg, 6, 12)],
        ]
        for load in self.areas:
            rows += [
                ["alarms_per_10min_avg", load.area, load.per_period_avg, "≈ 1 (≤ 2)",
                 _judge(load.per_period_avg, 1, 2)],
                ["alarms_per_10min_peak", load.area, load.per_period_peak, "≤ 10",
                 "ok" if load.per_period_peak <= self.settings.flood_above else "flood"],
                ["flood_periods_pct", load.area, load.flood_share, "< 1",
                 "ok" if load.flood_share < 1 else "too many floods"],
            ]
        rows += [
            ["standing_alarms", "*", len(self.standing), "0",
             "ok" if not self.standing else ", ".join(self.standing[:5])],
            ["chattering_alarms", "*", len(self.chattering), "0",
             "ok" if not self.chattering else ", ".join(a for a, _ in self.chattering[:5])],
            ["fleeting_alarms", "*", len(self.fleeting), "0",
             "ok" if not self.fleeting else ", ".join(a for a, _ in self.fleeting[:5])],
        ]
        rows += [[f"priority_{p.value}_pct", "*", share, f"≈ {PRIORITY_TARGET[p]:g}", ""]
                 for p, share in self.priority_share]
        rows += [[f"bad_actor_{n}", b.alarm, b.share, "", f"{b.count} alarms"]
                 for n, b in enumerate(self.bad_actors, start=1)]
        rows.append([f"top{self.settings.top}_share_pct", "*", self.bad_actor_share, "< 5",
                     "ok" if self.bad_actor_share < 5 else "few alarms make the load"])
        return rows


def _judge(value: float, acceptable: float, manageable: float) -> str:
    if value <= acceptable:
        return "acceptable"
    return "manageable" if value <= manageable else "over-demanding"


def _load(area: str, times: list[int], start: int, periods: int,
          settings: KpiSettings) -> AreaLoad:
    counts = np.bincount((np.asarray(times, dtype=np.int64) - start) // settings.period_ns,
                         minlength=periods)[:periods]
    return AreaLoad(area, len(times), periods, len(times) / periods if periods else 0.0,
                    int(counts.max(initial=0)),
                    int((counts > settings.flood_above).sum()))


def _chattering(times: dict[str, list[int]], settings: KpiSettings) -> list[tuple[str, int]]:
    out = []
    for alarm, ts in times.items():
        t = np.asarray(ts, dtype=np.int64)
        most = int((np.searchsorted(t, t + settings.chatter_window_ns, "right")
                    - np.arange(len(t))).max(initial=0))
        if most >= settings.chatter_count:
            out.append((alarm, most))
    return sorted(out, key=lambda x: (-x[1], x[0]))


def _fleeting(window: list[AlarmRecord], before: dict[str, AlarmRecord],
              settings: KpiSettings) -> list[tuple[str, int]]:
    found: Counter[str] = Counter()
    last = dict(before)
    for r in window:
        prev = last.get(r.alarm)
        if (prev is not None and prev.active and not r.active and prev.active_since is not None
                and r.ts - prev.active_since < settings.fleeting_ns):
            found[r.alarm] += 1
        last[r.alarm] = r
    return sorted(found.items(), key=lambda x: (-x[1], x[0]))


def compute_kpis(records: Iterable[AlarmRecord], *, start_ns: int, end_ns: int,
                 settings: KpiSettings = KpiSettings()) -> AlarmKpis:
    """KPIs over [start_ns, end_ns) from alarm records in time order. Records before
    `start_ns` may be given: they tell which alarms were already standing."""
    if end_ns <= start_ns:
        raise ValueError(f"KPI window is empty: end {end_ns} is not after start {start_ns}")
    before: dict[str, AlarmRecord] = {}
    window: list[AlarmRecord] = []
    for r in records:
        if r.ts < start_ns:
            before[r.alarm] = r
        elif r.ts < end_ns:
            window.append(r)
    shown = [r for r in window if r.annunciation]
    periods = -(-(end_ns - start_ns) // settings.period_ns)
    by_area: dict[str, list[int]] = defaultdict(list)
    by_alarm: dict[str, list[int]] = defaultdict(list)
    for r in shown:
        by_area[r.area].append(r.ts)
        by_alarm[r.alarm].append(r.ts)
    return AlarmKpis(
        start_ns, end_ns, settings, len(shown),
        tuple(_load(a, by_area[a], start_ns, periods, settings) for a in sorted(by_area)),
        _load("*", [r.ts for r in shown], start_ns, periods, settings),
        _standing(before, window, end_ns, settings), tuple(_chattering(by_alarm, settings)),
        tuple(_fleeting(window, before, settings)), _priority_share(shown),
        _bad_actors(shown, settings.top))


def _standing(before: dict[str, AlarmRecord], window: list[AlarmRecord], end_ns: int,
              settings: KpiSettings) -> tuple[str, ...]:
    latest = dict(before)
    latest.update((r.alarm, r) for r in window)
    return tuple(sorted(
        a for a, r in latest.items()
        if r.state in (AlarmState.UNACK_ACTIVE, AlarmState.ACK_ACTIVE)
        and r.active_since is not None and end_ns - r.active_since >= settings.standing_ns))


def _priority_share(shown: list[AlarmRecord]) -> tuple[tuple[Priority, float], ...]:
    counts = Counter(r.priority for r in shown)
    total = max(1, len(shown))
    return tuple((p, 100.0 * counts[p] / total) for p in Priority)


def _bad_actors(shown: list[AlarmRecord], top: int) -> tuple[BadActor, ...]:
    counts = Counter(r.alarm for r in shown)
    tags = {r.alarm: r.tag for r in shown}
    total = max(1, len(shown))
    ranked = sorted(counts.items(), key=lambda x: (-x[1], x[0]))[:top]
    return tuple(BadActor(a, tags[a], n, 100.0 * n / total) for a, n in ranked)
