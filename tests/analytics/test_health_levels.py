"""Decimated level history: per-step medians equal a plain group-by, however the samples are
split into batches, and only the last `capacity` steps are kept."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from isthmus.analytics.health.level_history import LevelHistory


@settings(max_examples=100, deadline=None)
@given(gaps=st.lists(st.integers(0, 25), min_size=1, max_size=80),
       values=st.lists(st.floats(-1e3, 1e3), min_size=80, max_size=80),
       cuts=st.lists(st.integers(1, 80), max_size=6), capacity=st.integers(1, 10))
def test_step_medians_match_a_plain_group_by(gaps: list[int], values: list[float],
                                             cuts: list[int], capacity: int) -> None:
    ts = np.cumsum(gaps).astype(np.int64)
    level = np.array(values[:ts.size])
    history = LevelHistory(resolution_ns=10, capacity=capacity)
    closed: list[int] = []
    bounds = sorted({0, ts.size, *(c for c in cuts if c < ts.size)})
    for a, b in itertools.pairwise(bounds):
        closed += history.add(ts[a:b], level[a:b])
    steps = np.unique(ts // 10)[:-1]  # the last step is still open
    expected = [float(np.median(level[ts // 10 == s])) for s in steps]
    assert closed == [int((s + 1) * 10) for s in steps]
    ends, levels = history.series()
    assert ends.tolist() == closed[-capacity:] if closed else ends.size == 0
    np.testing.assert_allclose(levels, expected[-capacity:] if expected else [])


def test_samples_from_a_closed_step_are_dropped() -> None:
    history = LevelHistory(resolution_ns=10, capacity=5)
    history.add(np.array([1, 12], dtype=np.int64), np.array([1.0, 2.0]))
    assert history.add(np.array([5, 25], dtype=np.int64), np.array([100.0, 3.0])) == [20]
    assert history.series()[1].tolist() == [1.0, 2.0]


def test_a_history_needs_a_positive_step() -> None:
    with pytest.raises(ValueError, match="resolution and capacity must be positive"):
        LevelHistory(resolution_ns=0, capacity=3)
