"""The PCA model, the scaling and the window features behind the multivariate detector."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from isthmus.analytics.anomaly import (
    DetectorSettings,
    MultivariateDetector,
    PcaModel,
    Standardiser,
    TrainingDataError,
)
from isthmus.analytics.anomaly.window_features import window_features


def _correlated(rows: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    base = rng.normal(size=(rows, 1))
    return np.hstack([base, 2 * base, -base]) + 0.05 * rng.normal(size=(rows, 3))


def test_contributions_add_up_to_t2_plus_spe() -> None:
    rows = _correlated(300, 1)
    model = PcaModel.fit(rows, variance=0.9)
    scores = model.score(rows[:20] + 0.3)
    np.testing.assert_allclose(scores.contributions.sum(axis=1), scores.t2 + scores.spe)


def test_a_broken_correlation_shows_in_spe_and_names_the_signal() -> None:
    rows = _correlated(300, 2)
    model = PcaModel.fit(rows, variance=0.9)
    normal = rows[0].copy()
    broken = normal.copy()
    broken[2] += 2.0  # the third signal stops following the first two
    scores = model.score(np.vstack([normal, broken]))
    assert scores.spe[1] > 50 * scores.spe[0]
    assert int(np.argmax(scores.contributions[1])) == 2


def test_pca_keeps_the_fewest_components_for_the_variance() -> None:
    assert PcaModel.fit(_correlated(300, 3), variance=0.9).components == 1


def test_pca_refuses_rows_that_never_vary() -> None:
    with pytest.raises(TrainingDataError, match="do not vary"):
        PcaModel.fit(np.ones((10, 3)))


def test_standardiser_copes_with_nan_and_constant_columns() -> None:
    rows = np.array([[1.0, 5.0, np.nan], [3.0, 5.0, np.nan], [np.nan, 5.0, np.nan]])
    scaler = Standardiser.fit(rows)
    out = scaler.transform(np.array([[2.0, 6.0, 1.0], [np.nan, 5.0, np.nan]]))
    np.testing.assert_allclose(out, [[0.0, 1.0, 1.0], [0.0, 0.0, 0.0]])


def _slow_window_features(rows: np.ndarray, window: int) -> np.ndarray:
    out = []
    for i in range(rows.shape[0]):
        block = rows[max(0, i - window + 1): i + 1]
        diff = np.abs(rows[i] - rows[i - 1]) if i else np.zeros(rows.shape[1])
        out.append(np.concatenate([rows[i], block.mean(axis=0), block.std(axis=0), diff]))
    return np.array(out)


@settings(max_examples=50, deadline=None)
@given(hnp.arrays(np.float64, st.tuples(st.integers(1, 40), st.integers(1, 4)),
                  elements=st.floats(-1e3, 1e3)),
       st.integers(1, 12))
def test_window_features_match_a_slow_reference(rows: np.ndarray, window: int) -> None:
    np.testing.assert_allclose(window_features(rows, window=window),
                               _slow_window_features(rows, window), rtol=1e-6, atol=1e-6)


def test_detector_flags_a_shift_and_not_the_training_period() -> None:
    rows = _correlated(800, 4)
    rows[500:650, 1] += 1.5  # a fault: one signal leaves the others
    detector = MultivariateDetector.fit(rows[:300])
    flagged = detector.scores(rows) > detector.threshold
    assert flagged[520:650].mean() > 0.9
    assert flagged[:300].mean() < 0.05


def test_detector_ignores_a_dead_sensor_column_in_training() -> None:
    rows = _correlated(400, 5)
    rows = np.hstack([rows, np.full((400, 1), 7.0), np.full((400, 1), np.nan)])
    detector = MultivariateDetector.fit(rows[:300])
    assert np.all(np.isfinite(detector.scores(rows)))


def test_detector_needs_enough_training_rows() -> None:
    with pytest.raises(TrainingDataError, match="at least 20 training rows"):
        MultivariateDetector.fit(_correlated(15, 6), settings=DetectorSettings(window=10))
