"""One asset's health: the decimated level of each watched signal, the trend of its
degradation signal, and the figures derived from them when a step closes (health index, RUL
with its interval, the worst signal), plus the event when the RUL falls below the horizon."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from isthmus.analytics.health.level_history import LevelHistory
from isthmus.analytics.health.trend import TrendFit, fit_trend
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


@dataclass(frozen=True, slots=True)
class AssetHealth:
    """The figures of one asset when its degradation signal last closed a step."""

    asset: str
    ts: int
    index: float
    worst: str  # signal name (or `anomaly:<group>`) that sets the index
    parts: dict[str, float]  # health of each signal
    level: float  # degradation signal's level in the step just closed
    fit: TrendFit | None

    def rul_hours(self) -> tuple[float, float, float] | None:
        if self.fit is None:
            return None
        values = sorted((self.fit.rul_low, self.fit.rul, self.fit.rul_high))
        low, mid, high = (min(v, MAX_RUL_HOURS) for v in values)
        return mid, low, high


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

        return cls(
            config=config, path=asset, degradation_path=watched(d.tag), threshold=threshold,
            scale=scale, history=LevelHistory(resolution_ns=step,
                                              capacity=math.ceil(d.window / d.resolution)),
            signals={watched(s.tag): (HealthScale.linear(s.healthy, s.limit),
                                      LevelHistory(resolution_ns=step, capacity=1))
                     for s in config.signals},
            running_path=None if d.running is None else watched(d.running),
            anomaly_path=anomaly_path, anomaly_threshold=config.anomaly_threshold)

    @property
    def horizon_hours(self) -> float:
        return self.config.degradation.horizon / 3600.0

    def add_degradation(self, ts: np.ndarray, values: np.ndarray) -> list[AssetHealth]:
        if not self.running:
            return []
        return [self._assess(end) for end in self.history.add(ts, values)]

    def add_signal(self, path: str, ts: np.ndarray, values: np.ndarray) -> None:
        self.signals[path][1].add(ts, values)

    def _assess(self, end: int) -> AssetHealth:
        ends, levels = self.history.series()
        fit = None
        if ends.size >= 6:
            previous = None if self.latest is None or self.latest.fit is None else (
                self.latest.fit.model)
            fit = fit_trend((ends - end) / HOUR_NS, levels, threshold=self.threshold,
                            previous=previous)
        level = float(levels[-1])
        parts = {self.degradation_path.rsplit("/", 1)[-1]: self.scale(level)}
        for path, (scale, history) in self.signals.items():
            if history.latest is not None:
                parts[path.rsplit("/", 1)[-1]] = scale(history.latest)
        if (self.anomaly_score is not None and self.anomaly_threshold is not None
                and self.config.anomaly is not None):
            parts[f"anomaly:{self.config.anomaly}"] = anomaly_health(self.anomaly_score,
                                                                     self.anomaly_threshold)
        worst = min(parts, key=lambda name: parts[name])
        health = AssetHealth(asset=self.path, ts=end, index=round(parts[worst], 2), worst=worst,
                             parts=parts, level=level, fit=fit)
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
        if rul[0] < self.horizon_hours:
            self.armed = False
            self.events.append(self._event(health))

    def _event(self, health: AssetHealth) -> Event:
        assert health.fit is not None
        rul, low, high = health.rul_hours() or (0.0, 0.0, 0.0)
        fit = health.fit
        margin = low / self.horizon_hours
        severity = (Severity.CRITICAL if margin < 0.25 else Severity.HIGH if margin < 0.5
                    else Severity.MEDIUM)
        signal = self.degradation_path.rsplit("/", 1)[-1]
        evidence = {"asset": self.path, "tag": self.degradation_path, "model": fit.model.value,
                    "level": fit.level, "threshold": self.threshold,
                    "slope_per_hour": fit.slope_per_hour, "residual": fit.residual,
                    "points": fit.points, "rul_hours": rul, "rul_low": low, "rul_high": high,
                    "interval": 0.8, "horizon_hours": self.horizon_hours,
                    "health_index": health.index, "worst_signal": health.worst}
        return Event(health.ts, EventKind.ALARM, severity,
                     f"{signal} of {self.path} reaches {self.threshold:g} in {rul:.1f} h "
                     f"(80 % interval {low:.1f}–{high:.1f} h; {fit.model.value} trend, now "
                     f"{fit.level:.3g}); horizon {self.horizon_hours:g} h",
                     source="health", asset=self.path, tag=self.degradation_path,
                     data={"health": evidence})
