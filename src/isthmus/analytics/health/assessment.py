"""One asset's health: the decimated level of each watched signal, the trend of its
degradation signal, and the figures derived from them when a step closes (health index, RUL
with its interval, the worst signal), plus the event when the RUL falls below the horizon."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from isthmus.analytics.health.learned import LearnedLife, load_rul_model
from isthmus.analytics.health.level_history import LevelHistory
from isthmus.analytics.health.trend import MIN_POINTS, TrendFit, fit_trend
from isthmus.analytics.health.zones import ISO10816_ZONES, HealthScale
from isthmus.config.health import AssetHealthConfig, signal_path
from isthmus.model import Event, EventKind, Severity

__all__ = ["MAX_RUL_HOURS", "AssetAssessment", "AssetHealth", "anomaly_health"]

S = 1_000_000_000
HOUR_NS = 3600 * S
#: RUL written when the trend never reaches the threshold (or is further away): 10 years
MAX_RUL_HOURS = 87_600.0
#: after an event, the RUL must rise above this share of the horizon to arm the next one
REARM = 1.2
#: steps kept of the other signals: a batch can close several steps at once, each assessed
#: with the other signals' levels of its own step
_KEPT = 64


@dataclass(frozen=True, slots=True)
class AssetHealth:
    """The figures of one asset when its degradation signal last closed a step."""

    asset: str
    ts: int
    index: float
    worst: str  # signal name (or `anomaly:<group>`) that sets the index
    parts: dict[str, float]  # health of each signal
    level: float  # degradation signal's level in the step just closed
    model: str  # the trend's `linear` / `exponential`, or `learned`
    rul: tuple[float, float, float] | None  # hours: estimate, low, high (≤ MAX_RUL_HOURS)
    fit: TrendFit | None  # the trend behind `rul` (None for a learned model)

    def rul_hours(self) -> tuple[float, float, float] | None:
        return self.rul


def _bounded(rul: float, low: float, high: float) -> tuple[float, float, float]:
    lower, mid, upper = (min(v, MAX_RUL_HOURS) for v in sorted((low, rul, high)))
    return mid, lower, upper


def anomaly_health(score: float, threshold: float) -> float:
    """100 up to half the threshold, 50 at the threshold, 0 at twice it."""
    return float(np.interp(score, [threshold / 2, threshold, 2 * threshold], [100, 50, 0]))


@dataclass(slots=True)
class AssetAssessment:
    config: AssetHealthConfig
    path: str
    degradation_path: str
    threshold: float
    scale: HealthScale
    history: LevelHistory
    signals: dict[str, tuple[HealthScale, LevelHistory]]
    running_path: str | None
    anomaly_path: str | None
    anomaly_threshold: float | None
    inputs: dict[str, LevelHistory] = field(default_factory=dict)  # learned model's sensors
    learned: LearnedLife | None = None
    running: bool = True
    anomaly_score: float | None = None
    armed: bool = True
    latest: AssetHealth | None = None
    events: list[Event] = field(default_factory=list)

    @classmethod
    def of(cls, config: AssetHealthConfig, *, prefix: str, asset: str,
           anomaly_path: str | None) -> AssetAssessment:
        d = config.degradation
        zones = ISO10816_ZONES[d.iso10816] if d.iso10816 is not None else None
        threshold = d.threshold if d.threshold is not None else zones.cd if zones else math.nan
        scale = (HealthScale.iso10816(zones, healthy=d.healthy, failure=threshold) if zones
                 else HealthScale.linear(d.healthy, threshold))
        step = round(d.resolution * S)

        def watched(tag: str) -> str:
            return signal_path(prefix, config.asset, tag)

        learned = None
        if d.model == "learned":
            assert d.model_file is not None  # the config checks it
            learned = LearnedLife(load_rul_model(Path(d.model_file)), sensors=len(d.sensors),
                                  cycle_hours=d.resolution / 3600.0)
        return cls(
            config=config, path=asset, degradation_path=watched(d.tag), threshold=threshold,
            scale=scale, history=LevelHistory(resolution_ns=step,
                                              capacity=math.ceil(d.window / d.resolution)),
            signals={watched(s.tag): (HealthScale.linear(s.healthy, s.limit),
                                      LevelHistory(resolution_ns=step, capacity=_KEPT))
                     for s in config.signals},
            running_path=None if d.running is None else watched(d.running),
            anomaly_path=anomaly_path, anomaly_threshold=config.anomaly_threshold,
            inputs={watched(t): LevelHistory(resolution_ns=step, capacity=_KEPT)
                    for t in d.sensors},
            learned=learned)

    @property
    def horizon_hours(self) -> float:
        return self.config.degradation.horizon / 3600.0

    def add_degradation(self, ts: np.ndarray, values: np.ndarray) -> list[AssetHealth]:
        if not self.running:
            return []
        return [self._assess(end) for end in self.history.add(ts, values)]

    def add_signal(self, path: str, ts: np.ndarray, values: np.ndarray) -> None:
        if path in self.signals:
            self.signals[path][1].add(ts, values)
        if path in self.inputs:
            self.inputs[path].add(ts, values)

    def _remaining_life(self, end: int, ends: np.ndarray, levels: np.ndarray
                        ) -> tuple[str, tuple[float, float, float] | None, TrendFit | None]:
        if self.learned is not None:
            latest = [history.level_at(end) for history in self.inputs.values()]
            if any(v is None for v in latest):
                return "learned", None, None
            rul = self.learned.add_cycle(np.array(latest, dtype=np.float64))
            return "learned", _bounded(*rul), None
        if ends.size < max(MIN_POINTS, self.history.capacity // 4):
            return "trend", None, None
        fit = fit_trend((ends - end) / HOUR_NS, levels, threshold=self.threshold)
        return fit.model.value, _bounded(fit.rul, fit.rul_low, fit.rul_high), fit

    def _assess(self, end: int) -> AssetHealth:
        ends, levels = self.history.series()
        model, rul, fit = self._remaining_life(end, ends, levels)
        level = float(levels[-1])
        parts = {self.degradation_path.rsplit("/", 1)[-1]: self.scale(level)}
        for path, (scale, history) in self.signals.items():
            if (at := history.level_at(end)) is not None:
                parts[path.rsplit("/", 1)[-1]] = scale(at)
        if (self.anomaly_score is not None and self.anomaly_threshold is not None
                and self.config.anomaly is not None):
            parts[f"anomaly:{self.config.anomaly}"] = anomaly_health(self.anomaly_score,
                                                                     self.anomaly_threshold)
        worst = min(parts, key=lambda name: parts[name])
        health = AssetHealth(asset=self.path, ts=end, index=round(parts[worst], 2), worst=worst,
                             parts=parts, level=level, model=model, rul=rul, fit=fit)
        self.latest = health
        self._check_horizon(health)
        return health

    def _check_horizon(self, health: AssetHealth) -> None:
        rul = health.rul_hours()
        if rul is None:
            return
        if not self.armed:  # re-armed once even the pessimistic bound is past the horizon
            self.armed = rul[1] > REARM * self.horizon_hours
            return
        # only a significant trend raises: even its slowest plausible slope still rises
        if rul[0] < self.horizon_hours and rul[2] < MAX_RUL_HOURS:
            self.armed = False
            self.events.append(self._event(health))

    def _event(self, health: AssetHealth) -> Event:
        rul, low, high = health.rul_hours() or (0.0, 0.0, 0.0)
        margin = low / self.horizon_hours
        severity = (Severity.CRITICAL if margin < 0.25 else Severity.HIGH if margin < 0.5
                    else Severity.MEDIUM)
        signal = self.degradation_path.rsplit("/", 1)[-1]
        evidence: dict[str, object] = {
            "asset": self.path, "tag": self.degradation_path, "model": health.model,
            "level": health.level, "threshold": self.threshold, "rul_hours": rul,
            "rul_low": low, "rul_high": high, "horizon_hours": self.horizon_hours,
            "health_index": health.index, "worst_signal": health.worst}
        fit = health.fit
        if fit is not None:
            evidence.update({"level": fit.level, "slope_per_hour": fit.slope_per_hour,
                             "residual": fit.residual, "points": fit.points,
                             "interval": "Sen 80 % slope interval of the plausible trends"})
            how = f"{fit.model.value} trend, now {fit.level:.3g}"
        else:
            assert self.learned is not None
            evidence.update({"model_file": self.config.degradation.model_file,
                             "cycles": len(self.learned),
                             "interval": "the model's 80 % residual interval"})
            how = f"learned model, {len(self.learned)} cycles"
        return Event(health.ts, EventKind.ALARM, severity,
                     f"{signal} of {self.path} reaches {self.threshold:g} in {rul:.1f} h "
                     f"(interval {low:.1f}–{high:.1f} h; {how}); horizon "
                     f"{self.horizon_hours:g} h",
                     source="health", asset=self.path, tag=self.degradation_path,
                     data={"health": evidence})
