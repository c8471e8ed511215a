"""One transaction of ledger leaves is sorted once: the samples it hands to the rollups are
those of the plain write's sort, its tag ids are the distinct ones, each leaf row has its own
time range, and a leaf out of order is named."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from isthmus.historian import HistorianError
from isthmus.historian.codec import sort_by_tag_and_time
from isthmus.historian.ledger import LeafEntry, plan_leaves
from isthmus.integrity.ledger import in_ledger_order
from isthmus.model import SampleBatch

_COLUMNS = ("tag_id", "ts", "value", "quality", "ts_gateway")
_Rows = list[tuple[int, int]]  # (tag id, time) of one leaf's samples


def _entry(index: int, batch: SampleBatch, entry: bytes | None = None) -> LeafEntry:
    return LeafEntry(index, b"\x00" * 32, "gw", "src", index, b"s" * 64, batch, entry)


def _leaf(rows: _Rows, salt: int) -> SampleBatch:
    tags = [t for t, _ in rows]
    ts = [s for _, s in rows]
    values = np.arange(len(rows), dtype=np.float64) + salt / 8
    return in_ledger_order(SampleBatch.of(tags, ts, values, None, np.array(ts) + salt))


_leaves = st.lists(st.lists(st.tuples(st.integers(1, 4), st.integers(0, 30)), max_size=12),
                   min_size=1, max_size=5)


@settings(max_examples=150, deadline=None)
@given(_leaves)
def test_the_samples_for_the_rollups_are_the_plain_writes_sort(leaves: list[_Rows]) -> None:
    entries = [_entry(7 + k, _leaf(rows, k)) for k, rows in enumerate(leaves)]
    plan = plan_leaves(entries)
    expected = sort_by_tag_and_time(SampleBatch.concat([e.batch for e in entries])).batch
    for column in _COLUMNS:
        assert getattr(plan.samples, column).tolist() == getattr(expected, column).tolist()
    assert plan.tag_ids.tolist() == np.unique(expected.tag_id).tolist()
    for entry, row in zip(entries, plan.rows, strict=True):
        ts = entry.batch.ts
        assert row[6:9] == ((len(ts), int(ts.min()), int(ts.max())) if len(ts) else (0, 0, 0))
        assert row[10] == 7  # every leaf names the transaction's first leaf


def test_late_data_is_sorted_for_the_rollups() -> None:
    first = _entry(0, SampleBatch.of([1, 1], [10, 20], [1.0, 2.0]))
    late = _entry(1, SampleBatch.of([1], [15], [3.0]))
    plan = plan_leaves([first, late])
    assert plan.samples.ts.tolist() == [10, 15, 20]
    assert [(b.n, b.min_ts) for b in plan.blocks] == [(2, 10), (1, 15)]


def test_a_leaf_out_of_order_is_named() -> None:
    good = _entry(3, SampleBatch.of([1, 2], [10, 10], [1.0, 2.0]))
    bad = _entry(4, SampleBatch.of([2, 1], [10, 10], [1.0, 2.0]))
    with pytest.raises(HistorianError, match="ledger leaf 4: samples are not sorted"):
        plan_leaves([good, bad])


def test_a_policy_entry_between_batches_keeps_its_own_row() -> None:
    batch = SampleBatch.of([1], [10], [1.0])
    entries = [_entry(0, batch), _entry(1, SampleBatch.empty(), b"ISTP-entry"), _entry(2, batch)]
    rows = plan_leaves(entries).rows
    assert [(r[6], r[7], r[8], r[10]) for r in rows] == [(1, 10, 10, 0), (0, 0, 0, 1),
                                                         (1, 10, 10, 0)]
    assert rows[1][9] == b"ISTP-entry"


def test_a_policy_entry_with_samples_is_refused() -> None:
    with pytest.raises(HistorianError, match="ledger leaf 0: a policy entry carries no"):
        plan_leaves([_entry(0, SampleBatch.of([1], [10], [1.0]), b"ISTP-entry")])


def test_no_leaves_write_nothing() -> None:
    plan = plan_leaves([])
    assert (plan.blocks, plan.rows, len(plan.samples), len(plan.tag_ids)) == ([], [], 0, 0)
