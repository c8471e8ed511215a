"""The historian's ledger rows: manifests keep every digest byte, leaves reproduce their
batch, and blocks of a leaf carry its index."""

from __future__ import annotations

import numpy as np
import pytest

from isthmus.historian import HistorianError
from isthmus.historian.ledger import (
    MANIFEST_DTYPE,
    LeafEntry,
    block_digest,
    blocks_of_leaves,
    read_manifest,
)
from isthmus.model import SampleBatch


def test_manifest_keeps_digests_that_end_in_zero_bytes() -> None:
    digest = b"\x01" * 14 + b"\x00\x00"
    data = np.array([(7, 3, 10, 20, digest)], MANIFEST_DTYPE).tobytes()
    (entry,) = read_manifest(data)
    assert bytes(entry["digest"]) == digest


def test_manifest_of_another_length_is_refused() -> None:
    with pytest.raises(HistorianError, match="not a whole number"):
        read_manifest(b"\x00" * (MANIFEST_DTYPE.itemsize + 1))


def test_blocks_of_a_leaf_carry_its_index_and_match_the_manifest() -> None:
    batch = SampleBatch.of([1, 1, 2], [10, 20, 15], [1.0, 2.0, 3.0])
    blocks, rows = blocks_of_leaves([LeafEntry(4, b"\x00" * 32, "gw", "src", 9, b"s" * 64,
                                               batch)])
    assert [(b.leaf, b.tag_id, b.n) for b in blocks] == [(4, 1, 2), (4, 2, 1)]
    (row,) = rows
    assert row[:7] == (4, b"\x00" * 32, "gw", "src", 9, b"s" * 64, 3)
    assert row[7:9] == (10, 20)
    manifest = read_manifest(row[9])  # type: ignore[arg-type]
    assert [bytes(e["digest"]) for e in manifest] == [
        block_digest(b.tag_id, b.min_ts, b.max_ts, b.n, b.payload) for b in blocks]


def test_a_leaf_out_of_ledger_order_is_refused() -> None:
    batch = SampleBatch.of([2, 1], [10, 10], [1.0, 2.0])
    with pytest.raises(HistorianError, match="not sorted"):
        blocks_of_leaves([LeafEntry(0, b"\x00" * 32, "gw", "src", 0, b"s" * 64, batch)])
