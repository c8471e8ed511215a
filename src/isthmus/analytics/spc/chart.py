"""One control chart on one quality tag: X̄-R over subgroups of n consecutive samples, or
I-MR over single samples. Limits are fixed from a baseline (a time window, or the first k
points); after that each point is checked against the run rules (location chart) and
against the range chart's limits (rule 1)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from isthmus.analytics.spc.constants import E2, constants_for
from isthmus.analytics.spc.rules import RuleHit, RuleWatch
from isthmus.config.efficiency import SpcChartConfig
from isthmus.model import Event, EventKind, Severity

__all__ = ["ChartPoint", "ControlChart", "Limits", "i_mr_limits", "limits_of",
           "xbar_r_limits"]

_RECENT = 15  # points kept to name the points of a rule


@dataclass(frozen=True, slots=True)
class Limits:
    """Centre line, σ of a plotted point, and the range (R or MR) chart's lines."""

    center: float
    sigma: float
    range_center: float
    range_lcl: float
    range_ucl: float

    @property
    def ucl(self) -> float:
        return self.center + 3 * self.sigma

    @property
    def lcl(self) -> float:
        return self.center - 3 * self.sigma


@dataclass(frozen=True, slots=True)
class ChartPoint:
    ts: int
    value: float  # X̄ or the individual value
    spread: float | None  # R, or MR (None for the first individual)


def limits_of(points: npt.NDArray[np.float64], spreads: npt.NDArray[np.float64],
              size: int) -> Limits:
    """Limits from baseline points (X̄ or individuals) and their spreads (R or MR):
    X̄̄ ± A2·R̄ with R̄·D3 … R̄·D4, or X̄ ± E2·MR̄ with 0 … D4(2)·MR̄."""
    if len(points) < 2 or len(spreads) < 1:
        raise ValueError(f"control limits need at least 2 baseline points, got {len(points)}")
    spread = float(spreads.mean())
    if size == 1:
        return Limits(float(points.mean()), E2 * spread / 3, spread, 0.0,
                      constants_for(2).d4 * spread)
    k = constants_for(size)
    return Limits(float(points.mean()), k.a2 * spread / 3, spread, k.d3 * spread,
                  k.d4 * spread)


def xbar_r_limits(groups: npt.NDArray[np.float64]) -> Limits:
    """Limits from baseline subgroups (one per row)."""
    if groups.ndim != 2:
        raise ValueError("X̄-R limits need a 2-D array of subgroups (one per row)")
    return limits_of(groups.mean(axis=1), groups.max(axis=1) - groups.min(axis=1),
                     groups.shape[1])


def i_mr_limits(values: npt.NDArray[np.float64]) -> Limits:
    """Limits from baseline individual values."""
    return limits_of(values, np.abs(np.diff(values)), 1)


class ControlChart:
    """`add(ts, values)` takes one tag's samples in time order; returns the rule events."""

    def __init__(self, config: SpcChartConfig, tag: str, asset: str) -> None:
        self.config = config
        self.tag, self.asset = tag, asset
        self.size = config.subgroup if config.chart == "xbar_r" else 1
        self._window = None if config.baseline_start is None or config.baseline_end is None \
            else (int(config.baseline_start.timestamp() * 1e9),
                  int(config.baseline_end.timestamp() * 1e9))
        self.limits: Limits | None = None
        self._baseline: list[ChartPoint] = []
        self._open: list[float] = []
        self._last: float | None = None
        self._watch = RuleWatch(config.rules)
        self._recent: list[ChartPoint] = []
        self.severity = Severity[config.severity.upper()]

    def add(self, ts: npt.NDArray[np.int64], values: npt.NDArray[np.float64]) -> list[Event]:
        events: list[Event] = []
        for t, v in zip(ts.tolist(), values.tolist(), strict=True):
            point = self._point(int(t), float(v))
            if point is not None:
                events += self._plot(point)
        return events

    def _point(self, ts: int, value: float) -> ChartPoint | None:
        self._open.append(value)
        if len(self._open) < self.size:
            return None
        group, self._open = self._open, []
        if self.size == 1:
            spread = None if self._last is None else abs(value - self._last)
            self._last = value
            return ChartPoint(ts, value, spread)
        return ChartPoint(ts, sum(group) / len(group), max(group) - min(group))

    def _plot(self, point: ChartPoint) -> list[Event]:
        if self.limits is None and not self._learn(point):
            return []
        assert self.limits is not None
        limits = self.limits
        z = (point.value - limits.center) / limits.sigma if limits.sigma > 0 else 0.0
        self._recent = [*self._recent[-(_RECENT - 1):], point]
        events = [self._event(hit) for hit in self._watch.add(z)]
        if point.spread is not None and not (
                limits.range_lcl <= point.spread <= limits.range_ucl):
            events.append(self._range_event(point))
        return events

    def _learn(self, point: ChartPoint) -> bool:
        """Keep baseline points; True once the limits are fixed and `point` is monitored."""
        if self._window is not None:
            start, end = self._window
            if point.ts < end:
                if point.ts >= start:
                    self._baseline.append(point)
                return False
            self._fix()
            return self.limits is not None
        self._baseline.append(point)
        if len(self._baseline) >= self.config.baseline_subgroups:
            self._fix()
        return False

    def _fix(self) -> None:
        points = np.array([p.value for p in self._baseline], np.float64)
        spreads = np.array([p.spread for p in self._baseline if p.spread is not None],
                           np.float64)
        if len(points) >= 2 and len(spreads):
            self.limits = limits_of(points, spreads, self.size)
        self._baseline = []

    def _points(self, indices: Sequence[int]) -> list[dict[str, float | int]]:
        first = self._watch.count - len(self._recent)
        return [{"ts": p.ts, "value": p.value} for i in indices
                if 0 <= (k := i - first) < len(self._recent) for p in [self._recent[k]]]

    def _event(self, hit: RuleHit) -> Event:
        name = "Nelson" if hit.rules == "nelson" else "Western Electric"
        points = self._points(hit.points)
        return Event(int(points[-1]["ts"]), EventKind.ALARM, self.severity,
                     f"SPC {self._label()}: {name} rule {hit.rule} ({hit.description})",
                     source="spc", asset=self.asset, tag=self.tag,
                     data={"spc": {"chart": self.config.chart, "rules": hit.rules,
                                   "rule": hit.rule, "points": points,
                                   **self._limits_data()}})

    def _range_event(self, point: ChartPoint) -> Event:
        chart = "R" if self.size > 1 else "MR"
        return Event(point.ts, EventKind.ALARM, self.severity,
                     f"SPC {self._label()}: {chart} chart rule 1 (range beyond its limits)",
                     source="spc", asset=self.asset, tag=self.tag,
                     data={"spc": {"chart": self.config.chart, "rules": self.config.rules,
                                   "rule": 1, "range_chart": True,
                                   "points": [{"ts": point.ts, "value": point.spread}],
                                   **self._limits_data()}})

    def _label(self) -> str:
        return f"{'X̄-R' if self.size > 1 else 'I-MR'} on {self.tag}"

    def _limits_data(self) -> dict[str, float]:
        assert self.limits is not None
        lim = self.limits
        return {"center": lim.center, "ucl": lim.ucl, "lcl": lim.lcl, "sigma": lim.sigma,
                "range_center": lim.range_center, "range_ucl": lim.range_ucl,
                "range_lcl": lim.range_lcl}
