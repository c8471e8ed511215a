"""Detection counts and the SKAB binary metrics, checked on cases counted by hand."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from isthmus.analytics.evaluation import DetectionCounts


def test_counts_of_a_hand_checked_case() -> None:
    truth = np.array([0, 0, 1, 1, 1, 0, 0, 1], dtype=bool)
    predicted = np.array([0, 1, 1, 1, 0, 0, 1, 0], dtype=bool)
    counts = DetectionCounts.of(truth, predicted)
    assert (counts.tp, counts.tn, counts.fp, counts.fn) == (2, 2, 2, 2)
    assert counts.false_alarm_rate == 0.5  # FP / (FP + TN) = 2 / 4
    assert counts.missed_alarm_rate == 0.5  # FN / (FN + TP) = 2 / 4
    assert counts.f1 == 0.5  # TP / (TP + (FP + FN) / 2) = 2 / 4


def test_files_are_pooled_by_summing_counts_not_averaging_metrics() -> None:
    first = DetectionCounts.of(np.array([1, 1, 1, 1], bool), np.array([1, 1, 1, 1], bool))
    second = DetectionCounts.of(np.array([0, 0, 0, 1], bool), np.array([1, 0, 0, 0], bool))
    pooled = first + second
    assert (pooled.tp, pooled.tn, pooled.fp, pooled.fn) == (4, 2, 1, 1)
    assert pooled.f1 == 4 / (4 + (1 + 1) / 2)
    assert pooled.precision == 0.8
    assert pooled.recall == 0.8


def test_rates_without_a_denominator_are_nan_not_an_error() -> None:
    counts = DetectionCounts.of(np.zeros(3, bool), np.zeros(3, bool))
    assert math.isnan(counts.missed_alarm_rate)
    assert counts.false_alarm_rate == 0.0


@given(st.lists(st.tuples(st.booleans(), st.booleans()), min_size=1, max_size=200))
def test_metrics_match_their_definitions(pairs: list[tuple[bool, bool]]) -> None:
    truth = np.array([p[0] for p in pairs])
    predicted = np.array([p[1] for p in pairs])
    c = DetectionCounts.of(truth, predicted)
    assert c.tp + c.tn + c.fp + c.fn == len(pairs)
    if c.tp + c.fp + c.fn:
        assert math.isclose(c.f1, c.tp / (c.tp + (c.fn + c.fp) / 2))
    if c.fp + c.tn:
        assert 0.0 <= c.false_alarm_rate <= 1.0
