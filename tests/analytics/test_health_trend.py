"""Trend fit of a degradation signal: Theil–Sen against a slow pairwise reference, robustness
to outliers, the model chosen for the curve's shape, and the crossing time it extrapolates."""

from __future__ import annotations

import math
from itertools import combinations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from isthmus.analytics.health import TrendModel, fit_trend
from isthmus.analytics.health.trend import theil_sen


def _slow_median_slope(t: np.ndarray, y: np.ndarray) -> float:
    slopes = [(y[j] - y[i]) / (t[j] - t[i]) for i, j in combinations(range(t.size), 2)
              if t[j] != t[i]]
    return float(np.median(slopes))


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(-100, 100), min_size=6, max_size=40), st.integers(0, 2**31))
def test_theil_sen_slope_is_the_median_pairwise_slope(values: list[float], seed: int) -> None:
    t = np.sort(np.random.default_rng(seed).uniform(-48, 0, len(values)))
    y = np.array(values)
    centre, low, high = theil_sen(t, y)
    assert centre.slope == pytest.approx(_slow_median_slope(t, y), rel=1e-9, abs=1e-9)
    assert low.slope <= centre.slope <= high.slope


@settings(max_examples=60, deadline=None)
@given(slope=st.floats(0.01, 2.0), intercept=st.floats(0.5, 20.0), seed=st.integers(0, 2**31))
def test_a_fifth_of_wild_outliers_does_not_move_the_slope_much(slope: float, intercept: float,
                                                                seed: int) -> None:
    rng = np.random.default_rng(seed)
    t = np.linspace(-24, 0, 60)
    y = intercept + slope * t + rng.normal(0, 0.01, t.size)
    wild = rng.choice(t.size, 12, replace=False)
    y[wild] += rng.uniform(-50, 50, wild.size)
    centre, _, _ = theil_sen(t, y)
    assert centre.slope == pytest.approx(slope, rel=0.25, abs=0.02)


def test_linear_wear_crosses_where_the_line_does() -> None:
    t = np.linspace(-12, 0, 73)
    y = 4.0 + 0.25 * t + np.random.default_rng(0).normal(0, 0.02, t.size)
    fit = fit_trend(t, y, threshold=7.0)
    assert fit.model == TrendModel.LINEAR
    assert fit.rul == pytest.approx(12.0, rel=0.05)  # (7 − 4) / 0.25
    assert fit.rul_low <= fit.rul <= fit.rul_high


def test_accelerating_wear_is_fitted_as_exponential() -> None:
    t = np.linspace(-12, 0, 73)
    y = 2.0 * np.exp(0.1 * t) * np.exp(np.random.default_rng(1).normal(0, 0.005, t.size))
    fit = fit_trend(t, y, threshold=2.0 * math.e)
    assert fit.model == TrendModel.EXPONENTIAL
    assert fit.rul == pytest.approx(10.0, rel=0.05)  # 2·e^(0.1·t) = 2e at t = 10 h
    assert fit.slope_per_hour == pytest.approx(0.2, rel=0.05)


@pytest.mark.parametrize("slope", [0.0, -0.1])
def test_a_flat_or_falling_level_never_reaches_the_threshold(slope: float) -> None:
    t = np.linspace(-12, 0, 30)
    fit = fit_trend(t, 3.0 + slope * t, threshold=11.0)
    assert math.isinf(fit.rul) and math.isinf(fit.rul_high)


def test_a_level_already_past_the_threshold_has_no_life_left() -> None:
    t = np.linspace(-12, 0, 30)
    assert fit_trend(t, 12.0 + 0.1 * t, threshold=11.0).rul == 0.0


def test_too_few_points_are_refused_with_the_count() -> None:
    with pytest.raises(ValueError, match="at least 6 points, got 3"):
        fit_trend(np.array([-2.0, -1.0, 0.0]), np.array([1.0, 2.0, 3.0]), threshold=5.0)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0.1, 30.0), min_size=6, max_size=50))
def test_interval_always_brackets_the_estimate(values: list[float]) -> None:
    t = np.linspace(-len(values), 0, len(values))
    fit = fit_trend(t, np.array(values), threshold=31.0)
    assert fit.rul_low <= fit.rul <= fit.rul_high
