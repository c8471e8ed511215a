"""Robust trend of a degradation signal and the time until it crosses a failure level.

The slope is Theil–Sen's (the median of the slopes between every pair of points, Sen 1968),
fitted to the level (linear model) and to its logarithm (exponential model); the model with
the smaller median absolute residual, in the signal's own units, is kept. The interval is
Sen's distribution-free confidence interval for the slope (the pairwise slopes at ranks
(N ∓ z·σ_S)/2, σ_S² = n(n−1)(2n+5)/18), each bound with its own median intercept, carried
to the crossing time."""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np
import numpy.typing as npt

__all__ = ["TrendFit", "TrendModel", "fit_trend", "theil_sen"]

Vector = npt.NDArray[np.float64]

#: standard normal quantile of 0.9: an 80 % two-sided interval
Z_80 = 1.2815515655446004
MIN_POINTS = 6
#: a model extrapolates clearly better when its error is below this share of the other's
CLEARLY = 0.6
#: a model whose extrapolation error is above 1 / PLAUSIBLE × the best's is left out
PLAUSIBLE = 1 / 3


class TrendModel(enum.StrEnum):
    LINEAR = "linear"
    EXPONENTIAL = "exponential"


@dataclass(frozen=True, slots=True)
class Line:
    slope: float
    intercept: float


@dataclass(frozen=True, slots=True)
class TrendFit:
    """A fit at time 0 (times are hours relative to the latest point, so ≤ 0). `rul*` are
    hours until the fitted level reaches the threshold: 0 if it already has, inf if the
    trend never does."""

    model: TrendModel
    centre: Line
    low: Line  # the slope's lower bound: the slowest plausible degradation
    high: Line
    residual: float  # median |residual|, signal units
    level: float  # fitted level now
    threshold: float
    rul: float
    rul_low: float
    rul_high: float
    points: int

    @property
    def slope_per_hour(self) -> float:
        """Rate of change now, signal units per hour."""
        if self.model == TrendModel.LINEAR:
            return self.centre.slope
        return self.centre.slope * self.level


@lru_cache(maxsize=8)
def _pairs(n: int) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    i, j = np.triu_indices(n, k=1)
    return i, j


def theil_sen(t: Vector, y: Vector, *, z: float = Z_80) -> tuple[Line, Line, Line]:
    """Centre, lower and upper lines (slopes from Sen's interval), each intercept the median
    of y − slope·t. Needs ≥ 2 distinct times."""
    i, j = _pairs(t.size)
    dt = t[j] - t[i]
    usable = dt != 0
    slopes = np.sort((y[j] - y[i])[usable] / dt[usable])
    if slopes.size == 0:
        raise ValueError("trend: need at least two distinct times")
    n, count = t.size, slopes.size
    spread = z * math.sqrt(n * (n - 1) * (2 * n + 5) / 18.0)
    lower = int(np.clip(math.floor((count - spread) / 2), 0, count - 1))
    upper = int(np.clip(math.ceil((count + spread) / 2) - 1, 0, count - 1))
    centre = float(np.median(slopes))

    def line(slope: float) -> Line:
        return Line(slope, float(np.median(y - slope * t)))

    return line(centre), line(float(slopes[lower])), line(float(slopes[upper]))


def _crossing(line: Line, target: float) -> float:
    """Hours from now (t = 0) until intercept + slope·t reaches target."""
    if line.intercept >= target:
        return 0.0
    if line.slope <= 0.0:
        return math.inf
    return (target - line.intercept) / line.slope


def fit_trend(t: Vector, y: Vector, *, threshold: float) -> TrendFit:
    """Fit a linear and an exponential trend to (t hours ≤ 0, level y) and extrapolate to
    `threshold` (a level above the current one: degradation rises). The model that
    extrapolates clearly better (error below `CLEARLY` × the other's) gives the estimate,
    else the one that crosses sooner (the cautious choice); the interval spans the slope
    intervals of both models unless one extrapolates far worse (`PLAUSIBLE`)."""
    if t.size < MIN_POINTS:
        raise ValueError(f"trend: need at least {MIN_POINTS} points, got {t.size}")
    exponential_ok = bool(np.all(y > 0)) and threshold > 0
    fits = [_fit(TrendModel.LINEAR, t, y, threshold)]
    if exponential_ok:
        fits.append(_fit(TrendModel.EXPONENTIAL, t, y, threshold))
    errors = [_extrapolation_error(fit.model, t, y) for fit in fits]
    best = fits[int(np.argmin(errors))]
    if len(fits) == 2 and min(errors) >= CLEARLY * max(errors):
        best = min(fits, key=lambda fit: fit.rul)  # neither is clearly right: cautious
    # the interval spans every model that still extrapolates plausibly
    plausible = [f for f, e in zip(fits, errors, strict=True) if e * PLAUSIBLE <= min(errors)]
    return replace(best, rul_low=min(f.rul_low for f in plausible),
                   rul_high=max(f.rul_high for f in plausible))


def _fit(model: TrendModel, t: Vector, y: Vector, threshold: float) -> TrendFit:
    exponential = model == TrendModel.EXPONENTIAL
    centre, low, high = theil_sen(t, np.log(y) if exponential else y)
    fitted = centre.intercept + centre.slope * t
    error = np.abs(y - (np.exp(fitted) if exponential else fitted))
    target = math.log(threshold) if exponential else threshold
    return TrendFit(model=model, centre=centre, low=low, high=high,
                    residual=float(np.median(error)),
                    level=math.exp(centre.intercept) if exponential else centre.intercept,
                    threshold=threshold, rul=_crossing(centre, target),
                    rul_low=_crossing(high, target), rul_high=_crossing(low, target),
                    points=int(t.size))


def _extrapolation_error(model: TrendModel, t: Vector, y: Vector) -> float:
    """Median |error| on the latest third of the points of the model fitted on the rest:
    the model is chosen for how it extrapolates, not for how it interpolates."""
    split = t.size - max(t.size // 3, 2)
    exponential = model == TrendModel.EXPONENTIAL
    centre, _, _ = theil_sen(t[:split], np.log(y[:split]) if exponential else y[:split])
    predicted = centre.intercept + centre.slope * t[split:]
    if exponential:
        predicted = np.exp(np.minimum(predicted, 700.0))
    return float(np.median(np.abs(y[split:] - predicted)))
