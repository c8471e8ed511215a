"""The anomaly engine's fast paths agree with the plain computations they replace: the batch
router with per-group membership, the NaN-aware column median with numpy's, and the tail
window features with the whole-series ones."""

from __future__ import annotations

import warnings

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from isthmus.analytics.anomaly.group_rows import GroupRouter, GroupRows
from isthmus.analytics.anomaly.scorers import _column_nanmedian
from isthmus.analytics.anomaly.window_features import tail_window_features, window_features
from isthmus.model import Quality, SampleBatch

_values = st.floats(-1e6, 1e6, allow_nan=False)


@st.composite
def batches(draw: st.DrawFn) -> SampleBatch:
    n = draw(st.integers(0, 40))
    tags = draw(st.lists(st.integers(0, 12), min_size=n, max_size=n))
    ts = draw(st.lists(st.integers(0, 5), min_size=n, max_size=n))
    values = draw(st.lists(st.one_of(_values, st.just(float("nan"))), min_size=n, max_size=n))
    bad = draw(st.lists(st.booleans(), min_size=n, max_size=n))
    return SampleBatch.of(tags, [100 + t for t in ts], values,
                          [Quality.BAD if b else Quality.GOOD for b in bad])


@settings(max_examples=150, deadline=None)
@given(groups=st.lists(st.lists(st.integers(0, 10), min_size=1, max_size=4, unique=True),
                       min_size=1, max_size=4),
       stream=st.lists(batches(), min_size=1, max_size=3))
def test_router_gives_each_group_the_rows_of_its_own_filter(groups: list[list[int]],
                                                            stream: list[SampleBatch]) -> None:
    routed = [GroupRows(g) for g in groups]
    plain = [GroupRows(g) for g in groups]
    router = GroupRouter([r.tag_ids for r in routed])
    for batch in stream:
        for fast, slow, samples in zip(routed, plain, router.split(batch), strict=True):
            ts_fast, rows_fast = fast.rows_of(*samples)
            ts_slow, rows_slow = slow.rows(batch)
            np.testing.assert_array_equal(ts_fast, ts_slow)
            np.testing.assert_array_equal(rows_fast, rows_slow)


def test_one_scan_of_a_group_is_one_row_holding_missing_tags() -> None:
    rows = GroupRows([4, 9, 2])
    rows.rows(SampleBatch.of([4, 9, 2], [10, 10, 10], [1.0, 2.0, 3.0]))
    ts, table = rows.rows(SampleBatch.of([9, 9, 2], [20, 20, 20], [5.0, 6.0, float("nan")]))
    assert ts.tolist() == [20]
    np.testing.assert_array_equal(table, [[1.0, 6.0, 3.0]])


@settings(max_examples=150, deadline=None)
@given(hnp.arrays(np.float64, st.tuples(st.integers(1, 30), st.integers(1, 5)),
                  elements=st.one_of(_values, st.just(float("nan")))))
def test_column_median_ignores_nan_like_numpy(values: np.ndarray) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN column
        expected = np.nanmedian(values, axis=0)
    np.testing.assert_allclose(_column_nanmedian(values), expected, rtol=1e-12)


@settings(max_examples=150, deadline=None)
@given(rows=hnp.arrays(np.float64, st.tuples(st.integers(1, 30), st.integers(1, 4)),
                       elements=st.floats(-1e3, 1e3)),
       window=st.integers(1, 12), data=st.data())
def test_tail_features_equal_the_last_rows_of_the_whole_series(rows: np.ndarray, window: int,
                                                               data: st.DataObject) -> None:
    tail = data.draw(st.integers(1, rows.shape[0]))
    np.testing.assert_allclose(tail_window_features(rows, window=window, tail=tail),
                               window_features(rows, window=window)[-tail:],
                               rtol=1e-9, atol=1e-9)
