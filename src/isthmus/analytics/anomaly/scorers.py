"""Row scorers for the streaming engine: each learns on the clean period, then scores rows of
a tag group (one column per tag) and says how much each tag contributed.

- `RobustZScorer`: each tag against the median/MAD of its last `window` normal samples;
  samples scored anomalous do not enter the window, so a lasting fault is not learned.
- `SeasonalScorer`: each tag against its mean/spread for the same hour of the week (then
  hour of day, then overall, whichever first has enough training samples).
- `PcaScorer`: the group's joint behaviour (`MultivariateDetector`), with the few rows of
  context its window features and smoothing need carried from batch to batch."""

from __future__ import annotations

from typing import Protocol

import numpy as np
import numpy.typing as npt

from isthmus.analytics.anomaly.errors import NotTrainedError, TrainingDataError
from isthmus.analytics.anomaly.multivariate import (
    DetectorSettings,
    MultivariateDetector,
    trailing_mean,
)

__all__ = ["PcaScorer", "RobustZScorer", "RowScorer", "SeasonalScorer"]

Matrix = npt.NDArray[np.float64]
Times = npt.NDArray[np.int64]

#: σ ≈ 1.4826 · MAD ≈ 1.2533 · mean absolute deviation for normal data
_MAD_TO_SIGMA = 1.4826
_MEAN_AD_TO_SIGMA = 1.2533
_HOUR_NS = 3_600_000_000_000
_MIN_BIN_SAMPLES = 10


class RowScorer(Protocol):
    def learn(self, ts: Times, rows: Matrix) -> None: ...

    def fit(self) -> float:
        """Finish training; return the learned threshold (or the default for the method)."""
        ...

    def score(self, ts: Times, rows: Matrix) -> tuple[Matrix, Matrix]:
        """Per row: the group score, and rows × tags contributions."""
        ...


def _floor(scale: Matrix, level: Matrix) -> Matrix:
    result: Matrix = np.maximum(scale, 1e-9 * (1.0 + np.abs(level)))
    return result


def _column_nanmedian(values: Matrix) -> Matrix:
    """Median of each column ignoring NaN (NaN for an all-NaN column), without the masked
    arrays `np.nanmedian` uses for small inputs: this runs once per batch per group."""
    missing = np.isnan(values)
    if not missing.any():
        median: Matrix = np.median(values, axis=0)
        return median
    ordered = np.sort(values, axis=0)  # NaN sorts last
    count = values.shape[0] - missing.sum(axis=0)
    columns = np.arange(values.shape[1])
    low = ordered[np.maximum((count - 1) // 2, 0), columns]
    high = ordered[np.maximum(count // 2, 0), columns]
    result: Matrix = np.where(count > 0, (low + high) / 2, np.nan)
    return result


def _column_nanmean(values: Matrix) -> Matrix:
    finite = ~np.isnan(values)
    count = finite.sum(axis=0)
    total = np.where(finite, values, 0.0).sum(axis=0)
    result: Matrix = np.divide(total, count, out=np.full(values.shape[1], np.nan),
                               where=count > 0)
    return result


class RobustZScorer:
    def __init__(self, tags: int, *, window: int, threshold: float = 6.0) -> None:
        self.threshold = threshold  # samples scoring above it stay out of the window
        self._buffer = np.full((window, tags), np.nan)
        self._next = 0
        self._filled = 0

    def _push(self, rows: Matrix) -> None:
        size = self._buffer.shape[0]
        rows = rows[max(0, rows.shape[0] - size):]
        at = (self._next + np.arange(rows.shape[0])) % size
        self._buffer[at] = rows
        self._next = int((self._next + rows.shape[0]) % size)
        self._filled = min(self._filled + rows.shape[0], size)

    def learn(self, ts: Times, rows: Matrix) -> None:
        self._push(rows)

    def fit(self) -> float:
        if self._filled < 3:
            raise TrainingDataError(f"robust z: {self._filled} training samples, need ≥ 3")
        return self.threshold

    def score(self, ts: Times, rows: Matrix) -> tuple[Matrix, Matrix]:
        """All rows of one call are scored against the window as it was before the call
        (vectorised; at 1 Hz a batch holds about one row per group), then the normal ones
        enter the window."""
        if self._filled == 0:
            raise NotTrainedError("robust z: scored before training")
        window = self._buffer[: self._filled]
        median = _column_nanmedian(window)
        deviation = np.abs(window - median)
        with np.errstate(all="ignore"):
            scale = np.maximum(_MAD_TO_SIGMA * _column_nanmedian(deviation),
                               _MEAN_AD_TO_SIGMA * _column_nanmean(deviation))
            z = np.abs(rows - median) / _floor(np.nan_to_num(scale), median)
        contributions: Matrix = np.nan_to_num(z, nan=0.0)
        scores = contributions.max(axis=1, initial=0.0)
        self._push(rows[scores <= self.threshold])
        return scores, contributions


class SeasonalScorer:
    """Running mean and variance per (hour of week), (hour of day) and overall: bounded."""

    def __init__(self, tags: int) -> None:
        self._bins = [np.zeros((168, tags)), np.zeros((24, tags)), np.zeros((1, tags))]
        self._sums = [np.zeros_like(b) for b in self._bins]
        self._squares = [np.zeros_like(b) for b in self._bins]
        self._trained = False

    @staticmethod
    def _keys(ts: Times) -> list[npt.NDArray[np.int64]]:
        hours = ts // _HOUR_NS
        # 1970-01-01 was a Thursday: shift so that 0 is Monday 00:00 UTC
        week_hour = (hours + 3 * 24) % 168
        return [week_hour, hours % 24, np.zeros_like(hours)]

    def learn(self, ts: Times, rows: Matrix) -> None:
        finite = np.isfinite(rows)
        values = np.where(finite, rows, 0.0)
        for key, count, total, square in zip(self._keys(ts), self._bins, self._sums,
                                             self._squares, strict=True):
            np.add.at(count, key, finite.astype(np.float64))
            np.add.at(total, key, values)
            np.add.at(square, key, values ** 2)

    def fit(self) -> float:
        if self._bins[2].min() < 3:
            raise TrainingDataError("seasonal: fewer than 3 training samples of some tag")
        self._trained = True
        return 6.0

    def score(self, ts: Times, rows: Matrix) -> tuple[Matrix, Matrix]:
        if not self._trained:
            raise NotTrainedError("seasonal: scored before training")
        mean = np.zeros_like(rows)
        spread = np.zeros_like(rows)
        chosen = np.zeros(rows.shape, dtype=bool)
        least = (_MIN_BIN_SAMPLES, _MIN_BIN_SAMPLES, 3)
        for key, count, total, square, needed in zip(self._keys(ts), self._bins, self._sums,
                                                     self._squares, least, strict=True):
            n = count[key]
            usable = ~chosen & (n >= needed)
            with np.errstate(invalid="ignore", divide="ignore"):
                m = total[key] / n
                v = np.maximum(square[key] / n - m ** 2, 0.0)
            mean = np.where(usable, m, mean)
            spread = np.where(usable, np.sqrt(v), spread)
            chosen |= usable
        z = np.nan_to_num(np.abs(rows - mean) / _floor(spread, mean), nan=0.0)
        return z.max(axis=1, initial=0.0), z


class PcaScorer:
    def __init__(self, tags: int, *, max_training_rows: int,
                 settings: DetectorSettings | None = None) -> None:
        self._settings = settings or DetectorSettings()
        self._training: list[Matrix] = []
        self._rows = 0
        self._max = max_training_rows
        self._tags = tags
        self.detector: MultivariateDetector | None = None
        self._context = np.empty((0, tags))
        self._raw_context = np.empty(0)

    def learn(self, ts: Times, rows: Matrix) -> None:
        room = self._max - self._rows
        if room > 0:
            self._training.append(rows[:room].copy())
            self._rows += min(room, rows.shape[0])

    def fit(self) -> float:
        rows = np.vstack(self._training) if self._training else np.empty((0, self._tags))
        self._training = []
        self.detector = MultivariateDetector.fit(rows, settings=self._settings)
        keep = self._settings.window - 1
        self._context = rows[rows.shape[0] - keep:] if keep else rows[:0]
        return self.detector.threshold

    def score(self, ts: Times, rows: Matrix) -> tuple[Matrix, Matrix]:
        if self.detector is None:
            raise NotTrainedError("pca: scored before training")
        joined = np.vstack([self._context, rows])
        scored = self.detector.tail_scores(joined, tail=rows.shape[0])
        history = np.concatenate([self._raw_context, scored.raw])
        smoothed = trailing_mean(history, self._settings.smoothing)
        keep = self._settings.window - 1
        self._context = joined[joined.shape[0] - keep:] if keep else joined[:0]
        self._raw_context = history[max(0, history.size - (self._settings.smoothing - 1)):]
        return smoothed[history.size - rows.shape[0]:], scored.contributions
