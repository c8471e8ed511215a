"""Prediction intervals from held-out residuals (split conformal, per band of predicted RUL):
errors grow with the predicted RUL, so each band of predictions gets its own residual
quantiles."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["ResidualBands"]

Vector = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class ResidualBands:
    edges: Vector  # inner band edges on the predicted RUL
    low: Vector  # per band: residual (true − predicted) quantile below
    high: Vector  # per band: residual quantile above

    @classmethod
    def fit(cls, predicted: Vector, truth: Vector, *, quantiles: tuple[float, float],
            bands: int = 5) -> ResidualBands:
        if predicted.size < 2 * bands:
            bands = 1
        edges = np.quantile(predicted, np.linspace(0, 1, bands + 1)[1:-1])
        band = np.searchsorted(edges, predicted)
        residual = truth - predicted
        low = np.array([np.quantile(residual[band == b], quantiles[0]) if np.any(band == b)
                        else np.quantile(residual, quantiles[0]) for b in range(bands)])
        high = np.array([np.quantile(residual[band == b], quantiles[1]) if np.any(band == b)
                         else np.quantile(residual, quantiles[1]) for b in range(bands)])
        return cls(edges=edges, low=low, high=high)

    def interval(self, predicted: Vector) -> tuple[Vector, Vector]:
        band = np.searchsorted(self.edges, predicted)
        return predicted + np.minimum(self.low[band], 0.0), predicted + np.maximum(
            self.high[band], 0.0)
