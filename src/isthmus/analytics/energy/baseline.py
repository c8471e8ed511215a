"""The ISO 50001 energy baseline: a least-squares regression of interval energy on
production (and optionally one relevant variable) over a declared baseline period, and the
EnPI ratio = actual / expected energy."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["BaselineModel", "fit_baseline"]


@dataclass(frozen=True, slots=True)
class BaselineModel:
    """expected kWh = intercept + per_unit · units (+ per_variable · variable)."""

    intercept: float
    per_unit: float
    per_variable: float | None
    points: int
    r2: float

    def expected(self, units: float, variable: float | None = None) -> float | None:
        if self.per_variable is None:
            return self.intercept + self.per_unit * units
        if variable is None:
            return None
        return self.intercept + self.per_unit * units + self.per_variable * variable


def fit_baseline(kwh: Sequence[float], units: Sequence[float],
                 variable: Sequence[float] | None = None) -> BaselineModel:
    """Fit the baseline; ValueError when there are fewer points than coefficients + 1."""
    y = np.asarray(kwh, np.float64)
    columns = [np.ones(len(y)), np.asarray(units, np.float64)]
    if variable is not None:
        columns.append(np.asarray(variable, np.float64))
    x = np.column_stack(columns)
    if len(y) < x.shape[1] + 1:
        raise ValueError(f"an energy baseline with {x.shape[1]} coefficients needs at least "
                         f"{x.shape[1] + 1} baseline intervals, got {len(y)}")
    coef, *_ = np.linalg.lstsq(x, y, rcond=None)
    residual = y - x @ coef
    spread = float(((y - y.mean()) ** 2).sum())
    r2 = 1.0 - float((residual**2).sum()) / spread if spread > 0 else 1.0
    return BaselineModel(float(coef[0]), float(coef[1]),
                         float(coef[2]) if variable is not None else None, len(y), r2)
