"""Column scaling learned on a clean period: robust to NaN, constant and all-missing columns."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from isthmus.analytics.anomaly.errors import TrainingDataError

__all__ = ["Standardiser"]

Matrix = npt.NDArray[np.float64]

#: a column whose training spread is below this is treated as constant (scale 1, centred)
_MIN_SCALE = 1e-9


@dataclass(frozen=True, slots=True)
class Standardiser:
    """Centre and scale each column by its training mean and standard deviation.

    Columns that were constant in training keep scale 1, so a later change still shows;
    missing values become the training mean (0 after scaling) so one dead sensor does not
    blind the whole model."""

    mean: Matrix
    scale: Matrix

    @classmethod
    def fit(cls, rows: Matrix) -> Standardiser:
        if rows.ndim != 2 or rows.shape[0] < 2:
            raise TrainingDataError(
                f"standardiser: need at least 2 training rows of a 2-D table, got shape "
                f"{rows.shape}")
        finite = np.isfinite(rows)
        counts = finite.sum(axis=0)
        safe = np.where(finite, rows, 0.0)
        mean = np.divide(safe.sum(axis=0), counts, out=np.zeros(rows.shape[1]),
                         where=counts > 0)
        dev = np.where(finite, rows - mean, 0.0)
        var = np.divide((dev ** 2).sum(axis=0), counts, out=np.zeros(rows.shape[1]),
                        where=counts > 0)
        scale = np.sqrt(var)
        scale[scale < _MIN_SCALE] = 1.0
        return cls(mean=mean, scale=scale)

    def transform(self, rows: Matrix) -> Matrix:
        scaled = (rows - self.mean) / self.scale
        return np.where(np.isfinite(scaled), scaled, 0.0)
