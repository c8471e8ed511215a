"""Blocks decode to exactly the samples that were encoded."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from isthmus.historian.codec import decode_blocks, encode_blocks, sort_by_tag_and_time
from isthmus.historian.errors import HistorianCorruption
from isthmus.model import SampleBatch

rows = st.lists(st.tuples(st.integers(1, 4), st.integers(-2**40, 2**40),
                          st.floats(allow_nan=True, allow_infinity=True),
                          st.sampled_from([0, 0, 0x80000000, 0x40940000]),
                          st.integers(-10**9, 10**9)), max_size=60)


def batch_of(data: list[tuple[int, int, float, int, int]]) -> SampleBatch:
    if not data:
        return SampleBatch.empty()
    tag_id, ts, value, quality, lag = map(list, zip(*data, strict=True))
    ts_arr = np.array(ts, np.int64)
    return SampleBatch.of(tag_id, ts_arr, value, quality, ts_arr + np.array(lag, np.int64))


@given(rows)
def test_blocks_round_trip_every_column_sorted_by_tag_and_time(data):
    batch = batch_of(data)
    blocks = encode_blocks(sort_by_tag_and_time(batch))
    decoded = decode_blocks([(b.tag_id, b.min_ts, b.n, b.payload) for b in blocks],
                            -(2**62), 2**62)
    order = np.argsort(batch.ts, kind="stable")
    order = order[np.argsort(batch.tag_id[order], kind="stable")]
    for column in ("tag_id", "ts", "quality", "ts_gateway"):
        np.testing.assert_array_equal(getattr(decoded, column), getattr(batch, column)[order])
    np.testing.assert_array_equal(decoded.value.view(np.int64),
                                  batch.value[order].view(np.int64))  # NaNs bit for bit
    assert {b.tag_id for b in blocks} == set(batch.tag_id.tolist())


def test_regular_good_block_stores_about_eight_bytes_per_sample():
    ts = 10**18 + np.arange(1000, dtype=np.int64) * 10**9
    block, = encode_blocks(sort_by_tag_and_time(SampleBatch.of(np.ones(1000), ts,
                                                               np.random.rand(1000))))
    assert len(block.payload) == 1 + 8 + 8 * 1000 + 8


def test_truncated_block_is_reported_as_corruption():
    block, = encode_blocks(sort_by_tag_and_time(SampleBatch.of([1, 1], [5, 9], [1.0, 2.0])))
    with pytest.raises(HistorianCorruption, match="tag 1"):
        decode_blocks([(1, block.min_ts, block.n, block.payload[:-3])], 0, 100)
