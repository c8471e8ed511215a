"""Features of a run history at every cycle: per-condition normalised sensors (constant ones
dropped, decided on the training data), their last value, trailing means, trailing slopes,
exponentially weighted means and those means minus the unit's own early-life baseline, plus
the cycle count. Row t uses cycles ≤ t only."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

import numpy as np
import numpy.typing as npt

from isthmus.analytics.rul.cmapss import RunHistories
from isthmus.analytics.rul.conditions import OperatingConditions
from isthmus.analytics.rul.errors import RulModelError

__all__ = ["SensorNormaliser", "history_features"]

Matrix = npt.NDArray[np.float64]

MEAN_WINDOWS = (5, 10, 20, 30)
SLOPE_WINDOWS = (10, 20, 30)
EWMA_ALPHAS = (0.1, 0.3)
#: early cycles taken as a unit's own healthy baseline (histories start healthy)
BASELINE_CYCLES = 20
#: a sensor whose within-condition spread is below this share of its level is constant
_CONSTANT_SHARE = 1e-6


@dataclass(frozen=True, slots=True)
class SensorNormaliser:
    conditions: OperatingConditions
    sensors: int  # sensor columns of the training histories
    kept: npt.NDArray[np.int64]  # sensor columns that vary
    mean: Matrix  # conditions × kept sensors
    scale: Matrix

    @classmethod
    def fit(cls, runs: RunHistories) -> SensorNormaliser:
        conditions = OperatingConditions.fit(runs.settings)
        label = conditions.assign(runs.settings)
        sensors = runs.sensors
        mean = np.zeros((conditions.count, sensors.shape[1]))
        scale = np.ones((conditions.count, sensors.shape[1]))
        for c in range(conditions.count):
            rows = sensors[label == c]
            if rows.shape[0]:
                mean[c], scale[c] = rows.mean(axis=0), rows.std(axis=0)
        spread = np.max(scale, axis=0)
        level = np.max(np.abs(mean), axis=0)
        distinct = np.array([np.unique(sensors[:, j]).size for j in range(sensors.shape[1])])
        kept = np.flatnonzero((spread > _CONSTANT_SHARE * (1.0 + level)) & (distinct > 2))
        if kept.size == 0:
            raise RulModelError("rul: every sensor is constant in the training data")
        safe = np.where(scale[:, kept] > 0, scale[:, kept], 1.0)
        return cls(conditions=conditions, sensors=sensors.shape[1], kept=kept.astype(np.int64),
                   mean=mean[:, kept], scale=safe)

    def transform(self, runs: RunHistories) -> Matrix:
        if runs.sensors.shape[1] != self.sensors:
            raise RulModelError(f"rul: these histories have {runs.sensors.shape[1]} sensor "
                                f"columns, the model was trained on {self.sensors}")
        label = self.conditions.assign(runs.settings)
        result: Matrix = (runs.sensors[:, self.kept] - self.mean[label]) / self.scale[label]
        return result


def _window_sums(values: Matrix, starts: npt.NDArray[np.int64], window: int
                 ) -> tuple[Matrix, Matrix]:
    """Trailing sums over `window` rows that never cross into the previous unit."""
    padded = np.vstack([np.zeros((1, values.shape[1])), np.cumsum(values, axis=0)])
    index = np.arange(values.shape[0])
    unit_start = np.repeat(starts[:-1], np.diff(starts))
    lower = np.maximum(index + 1 - window, unit_start)
    count = (index + 1 - lower).astype(np.float64)[:, None]
    return padded[index + 1] - padded[lower], count


def _offsets(starts: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Position of every row inside its unit's history (0 at the first cycle)."""
    sizes = np.diff(starts)
    result: npt.NDArray[np.int64] = np.arange(int(starts[-1])) - np.repeat(starts[:-1], sizes)
    return result


def _slopes(values: Matrix, starts: npt.NDArray[np.int64], window: int) -> Matrix:
    position = _offsets(starts).astype(np.float64)[:, None]
    sum_y, n = _window_sums(values, starts, window)
    sum_xy, _ = _window_sums(values * position, starts, window)
    sum_x, _ = _window_sums(position, starts, window)
    sum_xx, _ = _window_sums(position ** 2, starts, window)
    denominator = n * sum_xx - sum_x ** 2
    numerator = n * sum_xy - sum_x * sum_y
    return np.divide(numerator, denominator, out=np.zeros_like(numerator),
                     where=denominator > 1e-9)


def _ewma(values: Matrix, starts: npt.NDArray[np.int64], alpha: float) -> Matrix:
    """Exponentially weighted mean, all units advanced one cycle offset at a time."""
    result = values.copy()
    offsets = _offsets(starts)
    order = np.argsort(offsets, kind="stable")
    bounds = np.searchsorted(offsets[order], np.arange(1, int(offsets.max(initial=0)) + 2))
    for begin, end in pairwise(bounds):
        rows = order[begin:end]
        result[rows] = result[rows - 1] + alpha * (values[rows] - result[rows - 1])
    return result


def _early_baseline(values: Matrix, starts: npt.NDArray[np.int64]) -> Matrix:
    """Mean of each unit's first `BASELINE_CYCLES` cycles (of those seen so far)."""
    padded = np.vstack([np.zeros((1, values.shape[1])), np.cumsum(values, axis=0)])
    unit_start = np.repeat(starts[:-1], np.diff(starts))
    seen = np.minimum(_offsets(starts) + 1, BASELINE_CYCLES)
    result: Matrix = (padded[unit_start + seen] - padded[unit_start]) / seen[:, None]
    return result


def history_features(normalised: Matrix, runs: RunHistories) -> Matrix:
    """rows × features for every row of `runs` (normalised = SensorNormaliser output)."""
    starts = runs.starts
    blocks = [normalised]
    for window in MEAN_WINDOWS:
        total, count = _window_sums(normalised, starts, window)
        blocks.append(total / count)
    blocks.extend(_slopes(normalised, starts, window) for window in SLOPE_WINDOWS)
    smoothed = [_ewma(normalised, starts, alpha) for alpha in EWMA_ALPHAS]
    blocks.extend(smoothed)
    # degradation relative to the unit's own early life: removes engine-to-engine
    # differences (manufacturing, initial wear) that otherwise swamp the wear signal
    baseline = _early_baseline(normalised, starts)
    blocks.extend(level - baseline for level in smoothed)
    blocks.append(runs.cycle.astype(np.float64)[:, None])
    return np.hstack(blocks)
