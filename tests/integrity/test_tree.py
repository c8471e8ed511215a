"""The append-only Merkle log: roots at every size equal the reference MTH, appending one by
one equals appending in bulk equals reopening a stored leaf file, and misuse raises TreeError."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from isthmus.integrity import (
    EMPTY_ROOT,
    CompactRange,
    FileLeafStore,
    MemoryLeafStore,
    MerkleLog,
    TreeError,
    leaf_hash,
    node_hash,
)
from isthmus.integrity.errors import ProofInputError
from isthmus.integrity.hashing import hash_level, leaf_hashes
from tests.integrity import reference


@given(st.lists(st.binary(max_size=40), max_size=80))
@settings(max_examples=40, deadline=None)
def test_root_of_every_size_equals_the_reference(leaves: list[bytes]) -> None:
    log = MerkleLog()
    roots = []
    for data in leaves:
        log.append(data)
        roots.append(log.root())
    assert roots == [reference.mth(leaves[: n + 1]) for n in range(len(leaves))]
    assert [log.root(n) for n in range(len(leaves) + 1)] == [
        reference.mth(leaves[:n]) for n in range(len(leaves) + 1)
    ]


def test_empty_log_has_the_empty_root() -> None:
    log = MerkleLog()
    assert log.size == 0
    assert log.root() == log.root(0) == EMPTY_ROOT == bytes.fromhex(
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    )


def test_append_returns_indices_and_extend_returns_the_range() -> None:
    log = MerkleLog()
    assert log.append(b"a") == 0
    assert log.append_hash(leaf_hash(b"b")) == 1
    assert log.extend([b"c", b"d", b"e"]) == range(2, 5)
    assert log.root() == reference.mth([b"a", b"b", b"c", b"d", b"e"])


def test_bulk_and_one_by_one_appends_agree() -> None:
    leaves = [os.urandom(20) for _ in range(1000)]
    one_by_one, bulk = MerkleLog(), MerkleLog()
    for data in leaves:
        one_by_one.append(data)
    bulk.extend(leaves[:333])
    bulk.extend(leaves[333:])
    assert one_by_one.root() == bulk.root()
    assert one_by_one.inclusion_proof(777) == bulk.inclusion_proof(777)


def test_log_reopened_from_its_leaf_file_has_the_same_roots_and_proofs(tmp_path: Path) -> None:
    path = tmp_path / "ledger" / "leaves.bin"
    with FileLeafStore(path) as store:
        log = MerkleLog(store)
        log.extend([f"batch {i}".encode() for i in range(1500)])
        log.flush()
        roots = {n: log.root(n) for n in (1, 2, 999, 1024, 1500)}
        proof = log.inclusion_proof(1234, 1400)
    assert path.stat().st_size == 1500 * 32
    with FileLeafStore(path) as store:
        reopened = MerkleLog(store)
        assert reopened.size == 1500
        assert {n: reopened.root(n) for n in roots} == roots
        assert reopened.inclusion_proof(1234, 1400) == proof
        reopened.append(b"one more")
        assert reopened.root() == reference.mth(
            [f"batch {i}".encode() for i in range(1500)] + [b"one more"]
        )


def test_a_torn_leaf_file_is_refused_with_the_length_to_truncate_to(tmp_path: Path) -> None:
    path = tmp_path / "leaves.bin"
    path.write_bytes(os.urandom(32 * 3 + 5))
    with pytest.raises(TreeError, match="truncate the file to 96 bytes"):
        FileLeafStore(path)


def test_file_store_refuses_reads_beyond_its_end(tmp_path: Path) -> None:
    with FileLeafStore(tmp_path / "leaves.bin") as store:
        store.append(leaf_hashes([b"a"]))
        with pytest.raises(TreeError, match=r"\[0, 2\) is outside"):
            store.read(0, 2)
    store.close()  # closing twice is harmless


def test_sizes_beyond_the_log_raise_tree_errors() -> None:
    log = MerkleLog()
    log.extend([b"a", b"b", b"c"])
    for call in (
        lambda: log.root(4),
        lambda: log.root(-1),
        lambda: log.inclusion_proof(0, 4),
        lambda: log.consistency_proof(1, 4),
        lambda: log.leaf_hash(3),
        lambda: log.subtree_hash(0, 4),
        lambda: log.subtree_hash(2, 2),
    ):
        with pytest.raises(TreeError):
            call()


def test_subtree_hash_refuses_ranges_the_rfc_never_asks_for() -> None:
    log = MerkleLog()
    log.extend([bytes([i]) for i in range(8)])
    assert log.subtree_hash(4, 7) == reference.mth([bytes([i]) for i in range(4, 7)])
    with pytest.raises(TreeError, match="not aligned"):
        log.subtree_hash(1, 3)


def test_compact_range_keeps_one_node_per_set_bit_and_reports_completed_subtrees() -> None:
    cr = CompactRange()
    a, b, c = leaf_hash(b"a"), leaf_hash(b"b"), leaf_hash(b"c")
    assert cr.append(a) == []
    assert cr.append(b) == [node_hash(a, b)]
    assert cr.append(c) == []
    assert cr.size == 3
    assert cr.nodes == (node_hash(a, b), c)
    assert cr.root() == reference.mth([b"a", b"b", b"c"])
    resumed = CompactRange(3, cr.nodes)
    assert resumed.root() == cr.root()
    with pytest.raises(TreeError, match="size 3 has 2 nodes, not 1"):
        CompactRange(3, [c])


def test_hash_level_pairs_rows_and_drops_a_trailing_odd_one() -> None:
    rows = leaf_hashes([b"a", b"b", b"c"])
    parents = hash_level(rows)
    assert parents.shape == (1, 32)
    assert parents[0].tobytes() == node_hash(leaf_hash(b"a"), leaf_hash(b"b"))
    assert hash_level(rows[:1]).shape == (0, 32)


def test_memory_store_reads_are_read_only_views() -> None:
    store = MemoryLeafStore()
    store.append(leaf_hashes([b"a", b"b"]))
    view = store.read(0, 2)
    with pytest.raises(ValueError, match="read-only"):
        view[0, 0] = 1
    assert np.array_equal(view, leaf_hashes([b"a", b"b"]))


@given(st.lists(st.binary(max_size=40), max_size=70), st.integers(1, 9))
@settings(max_examples=30, deadline=None)
def test_appending_leaf_hashes_in_groups_equals_one_by_one(leaves: list[bytes],
                                                           group: int) -> None:
    hashes = [leaf_hash(data) for data in leaves]
    grouped, single = MerkleLog(), MerkleLog()
    for start in range(0, len(hashes), group):
        chunk = hashes[start:start + group]
        assert grouped.extend_hashes(chunk) == range(start, start + len(chunk))
    for h in hashes:
        single.append_hash(h)
    assert grouped.root() == single.root() == reference.mth(leaves)
    for n in range(len(leaves) + 1):
        assert grouped.root(n) == reference.mth(leaves[:n])
    if len(leaves) > 1:
        assert grouped.inclusion_proof(0) == single.inclusion_proof(0)
    with pytest.raises(ProofInputError, match="31 bytes"):
        grouped.extend_hashes([b"\x00" * 31])
    assert grouped.size == len(leaves)
