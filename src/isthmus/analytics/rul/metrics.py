"""RUL error measures of the C-MAPSS protocol: RMSE and the asymmetric PHM08 score, which
punishes late predictions (d = predicted − true > 0) harder than early ones."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["phm08_score", "rmse"]

Vector = npt.NDArray[np.float64]


def _errors(predicted: Vector, truth: Vector) -> Vector:
    if predicted.shape != truth.shape:
        raise ValueError(f"rul metrics: {predicted.shape} predictions vs {truth.shape} truths")
    result: Vector = predicted - truth
    return result


def rmse(predicted: Vector, truth: Vector) -> float:
    return float(np.sqrt(np.mean(_errors(predicted, truth) ** 2)))


def phm08_score(predicted: Vector, truth: Vector) -> float:
    """Σ exp(−d/13) − 1 for d < 0, exp(d/10) − 1 for d ≥ 0."""
    d = _errors(predicted, truth)
    return float(np.sum(np.where(d < 0, np.expm1(-d / 13.0), np.expm1(d / 10.0))))
