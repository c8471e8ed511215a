"""The historian's ledger rows: manifests keep every checksum byte, a transaction of leaves
is stored as one block per tag marked with its first leaf, and the manifests say where each
leaf's samples sit in those blocks."""

from __future__ import annotations

import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from isthmus.historian import HistorianError
from isthmus.historian.bulkdecode import decode_in_order
from isthmus.historian.codec import decode_block, encode_blocks, sort_by_tag_and_time
from isthmus.historian.ledger import (
    MANIFEST_DTYPE,
    LeafEntry,
    blocks_of_leaves,
    manifests_of,
    read_manifest,
    run_checksums,
)
from isthmus.model import SampleBatch


def entry(index: int, batch: SampleBatch) -> LeafEntry:
    return LeafEntry(index, b"\x00" * 32, "gw", "src", index, b"s" * 64, batch)


def test_manifest_keeps_digests_that_end_in_zero_bytes() -> None:
    digest = b"\x01" * 14 + b"\x00\x00"
    data = np.array([(7, 3, 10, 20, digest)], MANIFEST_DTYPE).tobytes()
    (row,) = read_manifest(data)
    assert bytes(row["digest"]) == digest


def test_manifest_of_another_length_is_refused() -> None:
    with pytest.raises(HistorianError, match="not a whole number"):
        read_manifest(b"\x00" * (MANIFEST_DTYPE.itemsize + 1))


def test_a_transaction_is_one_block_per_tag_marked_with_its_first_leaf() -> None:
    first = SampleBatch.of([1, 1, 2], [10, 20, 15], [1.0, 2.0, 3.0])
    second = SampleBatch.of([1, 2], [30, 25], [4.0, 5.0])
    blocks, rows = blocks_of_leaves([entry(4, first), entry(5, second)])
    assert [(b.leaf, b.tag_id, b.n, b.min_ts, b.max_ts) for b in blocks] == [
        (4, 1, 3, 10, 30), (4, 2, 2, 15, 25)]
    assert [r[0] for r in rows] == [4, 5] and [r[10] for r in rows] == [4, 4]
    assert rows[0][6:9] == (3, 10, 20)
    manifest = read_manifest(rows[1][9])  # type: ignore[arg-type]
    assert [(int(e["tag_id"]), int(e["n"]), int(e["min_ts"])) for e in manifest] == [
        (1, 1, 30), (2, 1, 25)]


def test_a_block_starts_where_time_goes_backwards() -> None:
    first = SampleBatch.of([1, 1], [10, 20], [1.0, 2.0])
    second = SampleBatch.of([1], [15], [3.0])  # late data of tag 1
    blocks, _ = blocks_of_leaves([entry(0, first), entry(1, second)])
    assert [(b.n, b.min_ts, b.max_ts) for b in blocks] == [(2, 10, 20), (1, 15, 15)]
    assert decode_block(1, 15, 1, blocks[1].payload).value.tolist() == [3.0]


def test_a_leaf_out_of_ledger_order_is_refused() -> None:
    batch = SampleBatch.of([2, 1], [10, 10], [1.0, 2.0])
    with pytest.raises(HistorianError, match="not sorted"):
        blocks_of_leaves([entry(0, batch)])


def test_checksums_refuse_runs_that_do_not_follow_each_other() -> None:
    batch = SampleBatch.of([1, 1, 1], [1, 2, 3], [1.0, 2.0, 3.0])
    with pytest.raises(HistorianError, match="follow each other"):
        run_checksums(batch, np.array([0, 2]), np.array([1, 3]))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(allow_nan=True), min_size=2, max_size=30),
       st.integers(0, 29), st.sampled_from(["ts", "value", "quality", "ts_gateway", "swap"]))
def test_any_single_change_to_a_run_changes_its_checksum(values: list[float], at: int,
                                                          column: str) -> None:
    n = len(values)
    at %= n
    batch = SampleBatch.of(np.ones(n), np.arange(n) * 10, values, np.arange(n), np.arange(n))
    cols = {c: getattr(batch, c).copy() for c in ("tag_id", "ts", "value", "quality",
                                                  "ts_gateway")}
    if column == "swap":
        other = (at + 1) % n
        for c in ("ts", "quality"):  # quality and time differ at every position
            cols[c][[at, other]] = cols[c][[other, at]]
    elif column == "value":
        cols["value"][at] = 1.5 if cols["value"][at] != 1.5 else 2.5
    else:
        cols[column][at] += 1
    changed = SampleBatch(**cols)
    whole = (np.array([0]), np.array([n]))
    assert bytes(run_checksums(batch, *whole)[0]) != bytes(run_checksums(changed, *whole)[0])


def test_every_nan_has_the_same_checksum() -> None:
    quiet = SampleBatch.of([1], [1], [float("nan")])
    other = SampleBatch.of([1], [1], np.array([0x7FF0000000000001], np.uint64).view(np.float64))
    whole = (np.array([0]), np.array([1]))
    assert bytes(run_checksums(quiet, *whole)[0]) == bytes(run_checksums(other, *whole)[0])


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 4), st.integers(1, 6), st.booleans(),
                          st.booleans()), min_size=1, max_size=6))
def test_bulk_decoding_equals_block_by_block(shapes: list[tuple[int, int, bool, bool]]) -> None:
    rows = []
    for k, (tag_id, n, irregular, bad_quality) in enumerate(shapes):
        ts = 1_000 * k + np.arange(n) * 10 + (np.arange(n) ** 2 if irregular else 0)
        batch = SampleBatch.of(np.full(n, tag_id), ts, np.arange(n) * 0.5,
                               np.full(n, 0x80000000 if bad_quality else 0), ts + 3)
        (block,) = encode_blocks(sort_by_tag_and_time(batch))
        rows.append((block.tag_id, block.min_ts, block.n, block.payload))
    bulk = decode_in_order(rows)
    one_by_one = SampleBatch.concat([decode_block(*r) for r in rows])
    for column in ("tag_id", "ts", "value", "quality", "ts_gateway"):
        assert np.array_equal(getattr(bulk, column), getattr(one_by_one, column)), column


# --- the manifests: one vectorised pass per transaction, the same bytes as leaf by leaf ------

_M64 = (1 << 64) - 1
# the checksum's odd multipliers, written out here: stored manifests depend on them
_MULTIPLIERS = (0x9E3779B97F4A7C15, 0xBF58476D1CE4E5B9, 0x94D049BB133111EB,
                0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9, 0xD6E8FEB86659FD93)


def _reference_checksum(batch: SampleBatch, start: int, end: int) -> bytes:
    """The run checksum computed sample by sample with Python integers (docs/integrity.md)."""
    k0, k1, k2, k3, k4, k5 = _MULTIPLIERS
    lanes = [0, 0]
    for i in range(start, end):
        value = float(batch.value[i])
        bits = 0x7FF8000000000000 if value != value else struct.unpack(
            "<Q", struct.pack("<d", value))[0]
        x = ((int(batch.ts[i]) & _M64) * k0 ^ bits * k1
             ^ ((int(batch.quality[i]) << 32 | (i - start)) * k2)
             ^ (int(batch.ts_gateway[i]) & _M64) * k3) & _M64
        x ^= x >> 31
        x = x * k4 & _M64
        x ^= x >> 29
        lanes[0] = (lanes[0] + x) & _M64
        lanes[1] = (lanes[1] + ((x ^ (x >> 32)) * k5 & _M64)) & _M64
    return struct.pack("<QQ", *lanes)


_samples = st.lists(st.tuples(st.integers(1, 5), st.integers(-3, 40),
                              st.sampled_from([0.0, -0.0, 1.5, -2.25, float("nan"),
                                               float("inf"), 1e300]),
                              st.sampled_from([0, 0x40000000, 0x80050000]),
                              st.integers(-5, 5)), max_size=25)


def _leaf_batch(rows: list[tuple[int, int, float, int, int]]) -> SampleBatch:
    ts = np.array([r[1] for r in rows], np.int64) * 1_000_000_007 - 2**40
    batch = SampleBatch.of([r[0] for r in rows], ts, [r[2] for r in rows],
                           [r[3] for r in rows], ts + np.array([r[4] for r in rows], np.int64))
    return batch.take(np.lexsort((batch.ts, batch.tag_id)))


@settings(max_examples=120, deadline=None)
@given(st.lists(_samples, min_size=1, max_size=6))
def test_a_transactions_manifests_are_those_of_its_leaves_one_by_one(
        leaves: list[list[tuple[int, int, float, int, int]]]) -> None:
    batches = [_leaf_batch(rows) for rows in leaves]
    entries = [entry(3 + k, b) for k, b in enumerate(batches)]
    _, rows = blocks_of_leaves(entries)
    together = manifests_of(SampleBatch.concat(batches),
                            np.array([len(b) for b in batches], np.int64))
    assert [r[9] for r in rows] == together
    for batch, manifest in zip(batches, together, strict=True):
        assert manifests_of(batch, np.array([len(batch)], np.int64)) == [manifest]
        runs = read_manifest(manifest)
        assert int(runs["n"].sum()) == len(batch)
        start = 0
        for run in runs:  # every checksum byte as computed sample by sample
            end = start + int(run["n"])
            assert bytes(run["digest"]) == _reference_checksum(batch, start, end)
            assert batch.tag_id[start:end].tolist() == [int(run["tag_id"])] * (end - start)
            assert (int(run["min_ts"]), int(run["max_ts"])) == (batch.ts[start],
                                                               batch.ts[end - 1])
            start = end
