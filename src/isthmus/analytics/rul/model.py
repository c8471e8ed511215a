"""Learned remaining-useful-life model: gradient-boosted trees on history features, trained on
run-to-failure histories with the target capped (a healthy engine's RUL is not observable
from its sensors); an 80 % interval from residuals on units held out of a first fit."""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from isthmus.analytics.rul.cmapss import RunHistories
from isthmus.analytics.rul.errors import RulModelError
from isthmus.analytics.rul.features import SensorNormaliser, history_features
from isthmus.analytics.rul.intervals import ResidualBands

if TYPE_CHECKING:        # scikit-learn takes most of a second to import: only when training
    from sklearn.ensemble import HistGradientBoostingRegressor

__all__ = ["RulEstimate", "RulModel", "RulSettings"]

Vector = npt.NDArray[np.float64]

CALIBRATION_MIN_HISTORY = 31


@dataclass(frozen=True, slots=True)
class RulSettings:
    cap: float = 125.0  # cycles; training targets above are clipped to it
    iterations: int = 400
    learning_rate: float = 0.05
    max_leaf_nodes: int = 15
    min_samples_leaf: int = 40
    interval: tuple[float, float] = (0.1, 0.9)
    seed: int = 0
    #: OpenMP threads for the trees; more than 1 spins badly on a busy 2-core machine
    threads: int = 1


@dataclass(frozen=True, slots=True)
class RulEstimate:
    """Per unit: the RUL at its last cycle and an interval around it."""

    units: npt.NDArray[np.int64]
    rul: Vector
    low: Vector
    high: Vector


def _threads(count: int) -> AbstractContextManager[object]:
    from threadpoolctl import threadpool_limits
    return threadpool_limits(limits=count, user_api="openmp")  # type: ignore[no-any-return]


def _boosting(settings: RulSettings) -> HistGradientBoostingRegressor:
    from sklearn.ensemble import HistGradientBoostingRegressor
    return HistGradientBoostingRegressor(
        max_iter=settings.iterations, learning_rate=settings.learning_rate,
        max_leaf_nodes=settings.max_leaf_nodes, min_samples_leaf=settings.min_samples_leaf,
        l2_regularization=1.0, early_stopping=False, random_state=settings.seed)


@dataclass(frozen=True, slots=True)
class RulModel:
    settings: RulSettings
    normaliser: SensorNormaliser
    point: HistGradientBoostingRegressor
    bands: ResidualBands

    @classmethod
    def fit(cls, runs: RunHistories, *, settings: RulSettings | None = None) -> RulModel:
        """Train on complete run-to-failure histories (every unit's last cycle is a failure).
        A fifth of the units first calibrates the interval on a model trained without them."""
        chosen = settings or RulSettings()
        units = runs.units
        if units.size < 5:
            raise RulModelError(f"rul: need run-to-failure histories of at least 5 units, got "
                                f"{units.size}")
        rng = np.random.default_rng(chosen.seed)
        calibration = np.isin(runs.unit, rng.choice(units, size=units.size // 5,
                                                    replace=False))
        with _threads(chosen.threads):
            held = _fit_point(runs.rows(~calibration), chosen)
            bands = _calibrate(held, runs.rows(calibration), chosen)
            normaliser, point = _fit_point(runs, chosen)
        return cls(settings=chosen, normaliser=normaliser, point=point, bands=bands)

    def predict_last(self, runs: RunHistories) -> RulEstimate:
        """RUL at the last observed cycle of each unit of (possibly truncated) histories."""
        features = history_features(self.normaliser.transform(runs), runs)
        last = features[runs.starts[1:] - 1]
        cap = self.settings.cap
        with _threads(self.settings.threads):
            rul = np.clip(self.point.predict(last), 0.0, cap)
        low, high = self.bands.interval(rul)
        return RulEstimate(units=runs.units, rul=rul, low=np.maximum(low, 0.0), high=high)


def _fit_point(runs: RunHistories, settings: RulSettings
               ) -> tuple[SensorNormaliser, HistGradientBoostingRegressor]:
    normaliser = SensorNormaliser.fit(runs)
    features = history_features(normaliser.transform(runs), runs)
    target = np.minimum(runs.remaining_life(), settings.cap)
    return normaliser, _boosting(settings).fit(features, target)


def _calibrate(fitted: tuple[SensorNormaliser, HistGradientBoostingRegressor],
               runs: RunHistories, settings: RulSettings) -> ResidualBands:
    """Residuals on every cycle of the calibration units that has at least
    `CALIBRATION_MIN_HISTORY` cycles behind it (like a test history)."""
    normaliser, model = fitted
    features = history_features(normaliser.transform(runs), runs)
    usable = runs.cycle >= CALIBRATION_MIN_HISTORY
    predicted = np.clip(model.predict(features[usable]), 0.0, settings.cap)
    # against the true RUL, not the capped target: the interval is about the engine, and a
    # healthy-looking engine may have far more life left than the cap
    truth = runs.remaining_life()[usable]
    return ResidualBands.fit(predicted, truth, quantiles=settings.interval)
