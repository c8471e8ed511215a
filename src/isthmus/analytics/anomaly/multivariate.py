"""Multivariate anomaly detector: scale on a clean period, add trailing-window features, model
them with PCA, and score each row by the larger of its T² and SPE relative to their training
quantiles, smoothed over a few rows. Thresholds come from the training rows alone."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from isthmus.analytics.anomaly.errors import TrainingDataError
from isthmus.analytics.anomaly.pca_model import PcaModel
from isthmus.analytics.anomaly.standardise import Standardiser
from isthmus.analytics.anomaly.window_features import (
    FEATURE_KINDS,
    tail_window_features,
    window_features,
)

__all__ = ["DetectorSettings", "MultivariateDetector", "RowScores", "trailing_mean"]

Matrix = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class DetectorSettings:
    """Chosen once for all data (see docs/analytics.md), never per file."""

    window: int = 10  # rows in the rolling mean / std features
    variance: float = 0.95  # share of training variance the PCA plane keeps
    quantile: float = 0.99  # training quantile that normalises T², SPE and the score
    factor: float = 2.5  # threshold = factor × training quantile of the smoothed score
    smoothing: int = 10  # rows in the trailing mean of the score

    def __post_init__(self) -> None:
        if self.window < 1 or self.smoothing < 1:
            raise ValueError("detector settings: window and smoothing must be ≥ 1 row")
        if not 0.5 <= self.quantile < 1.0:
            raise ValueError(f"detector settings: quantile {self.quantile} not in [0.5, 1)")
        if self.factor <= 0.0:
            raise ValueError(f"detector settings: factor {self.factor} must be > 0")


@dataclass(frozen=True, slots=True)
class RowScores:
    """`raw` is the unsmoothed score; `contributions` is rows × input columns (the share of
    each signal in the row's T² and SPE, all its window features together)."""

    raw: Matrix
    contributions: Matrix


def trailing_mean(values: Matrix, window: int) -> Matrix:
    padded = np.concatenate([[0.0], np.cumsum(values)])
    upper = np.arange(1, values.size + 1)
    lower = np.maximum(upper - window, 0)
    result: Matrix = (padded[upper] - padded[lower]) / (upper - lower)
    return result


@dataclass(frozen=True, slots=True)
class MultivariateDetector:
    settings: DetectorSettings
    inputs: Standardiser
    features: Standardiser
    model: PcaModel
    t2_limit: float
    spe_limit: float
    threshold: float

    @classmethod
    def fit(cls, rows: Matrix, *, settings: DetectorSettings | None = None
            ) -> MultivariateDetector:
        """Train on rows known to be normal (rows × signals, NaN allowed)."""
        chosen = settings or DetectorSettings()
        minimum = max(2 * chosen.window, 10)
        if rows.ndim != 2 or rows.shape[0] < minimum:
            raise TrainingDataError(
                f"multivariate detector: need at least {minimum} training rows, got "
                f"{rows.shape[0] if rows.ndim == 2 else rows.shape}")
        inputs = Standardiser.fit(rows)
        raw_features = window_features(inputs.transform(rows), window=chosen.window)
        features = Standardiser.fit(raw_features)
        scaled = features.transform(raw_features)
        model = PcaModel.fit(scaled, variance=chosen.variance)
        stats = model.score(scaled)
        t2_limit = _positive_quantile(stats.t2, chosen.quantile)
        spe_limit = _positive_quantile(stats.spe, chosen.quantile)
        raw = np.maximum(stats.t2 / t2_limit, stats.spe / spe_limit)
        smoothed = trailing_mean(raw, chosen.smoothing)
        threshold = chosen.factor * _positive_quantile(smoothed, chosen.quantile)
        return cls(settings=chosen, inputs=inputs, features=features, model=model,
                   t2_limit=t2_limit, spe_limit=spe_limit, threshold=threshold)

    @property
    def signals(self) -> int:
        return int(self.inputs.mean.size)

    def row_scores(self, rows: Matrix) -> RowScores:
        """Unsmoothed scores of consecutive rows (the first `window - 1` see a short window)."""
        self._check(rows)
        scaled = self.features.transform(
            window_features(self.inputs.transform(rows), window=self.settings.window))
        return self._scored(scaled)

    def tail_scores(self, rows: Matrix, *, tail: int) -> RowScores:
        """`row_scores(rows)` of the last `tail` rows only (the rows before are context)."""
        self._check(rows)
        scaled = self.features.transform(tail_window_features(
            self.inputs.transform(rows), window=self.settings.window, tail=tail))
        return self._scored(scaled)

    def _check(self, rows: Matrix) -> None:
        if rows.ndim != 2 or rows.shape[1] != self.signals:
            raise ValueError(f"multivariate detector: expected rows × {self.signals} signals, "
                             f"got shape {rows.shape}")

    def _scored(self, scaled: Matrix) -> RowScores:
        stats = self.model.score(scaled)
        raw = np.maximum(stats.t2 / self.t2_limit, stats.spe / self.spe_limit)
        per_feature = stats.contributions / (self.t2_limit + self.spe_limit)
        blocks = per_feature.reshape(scaled.shape[0], len(FEATURE_KINDS), self.signals)
        return RowScores(raw=raw, contributions=blocks.sum(axis=1))

    def scores(self, rows: Matrix) -> Matrix:
        """Smoothed scores of a whole series at once (offline evaluation)."""
        return trailing_mean(self.row_scores(rows).raw, self.settings.smoothing)


def _positive_quantile(values: Matrix, quantile: float) -> float:
    limit = float(np.quantile(values, quantile))
    if not np.isfinite(limit):
        raise TrainingDataError("multivariate detector: training scores are not finite")
    # a perfectly fitted training set has limit 0; any deviation is then anomalous
    return max(limit, 1e-12)
