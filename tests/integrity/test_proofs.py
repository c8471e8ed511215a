"""Inclusion and consistency proofs against the reference tree of tests/integrity/reference.py:
the same proofs, they verify, and any single-bit change to the leaf, a proof hash or a root
makes verification fail. Preconditions raise typed errors."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from isthmus.integrity import (
    EMPTY_ROOT,
    MerkleLog,
    ProofError,
    ProofInputError,
    ProofLengthError,
    RootMismatchError,
    verify_consistency,
    verify_inclusion,
)
from isthmus.integrity.proofs import (
    consistency_proof,
    inclusion_proof,
    inclusion_proof_length,
    root_from_inclusion_proof,
)
from tests.integrity import reference


def _leaves(n: int) -> list[bytes]:
    return [f"leaf {i}".encode() for i in range(n)]


def _log(leaves: list[bytes]) -> MerkleLog:
    log = MerkleLog()
    for data in leaves:
        log.append(data)
    return log


def _bit_flips(value: bytes) -> list[bytes]:
    flips = []
    for bit in range(len(value) * 8):
        changed = bytearray(value)
        changed[bit // 8] ^= 1 << (bit % 8)
        flips.append(bytes(changed))
    return flips


sizes = st.integers(min_value=1, max_value=300)


@given(data=st.data(), size=sizes)
@settings(max_examples=60, deadline=None)
def test_inclusion_proof_matches_reference_and_verifies(data: st.DataObject, size: int) -> None:
    leaves = _leaves(size)
    log = _log(leaves)
    index = data.draw(st.integers(0, size - 1))
    tree_size = data.draw(st.integers(index + 1, size))
    proof = log.inclusion_proof(index, tree_size)
    assert proof == reference.path(index, leaves[:tree_size])
    assert len(proof) == inclusion_proof_length(index, tree_size)
    root = reference.mth(leaves[:tree_size])
    assert log.root(tree_size) == root
    verify_inclusion(reference.leaf(leaves[index]), index, tree_size, proof, root)


@given(data=st.data(), size=sizes)
@settings(max_examples=60, deadline=None)
def test_consistency_proof_matches_reference_and_verifies(data: st.DataObject, size: int) -> None:
    leaves = _leaves(size)
    log = _log(leaves)
    new = data.draw(st.integers(1, size))
    old = data.draw(st.integers(1, new))
    proof = log.consistency_proof(old, new)
    assert proof == ([] if old == new else reference.proof(old, leaves[:new]))
    verify_consistency(old, new, reference.mth(leaves[:old]), reference.mth(leaves[:new]), proof)


@given(data=st.data(), size=st.integers(min_value=1, max_value=70))
@settings(max_examples=25, deadline=None)
def test_every_single_bit_change_breaks_an_inclusion_proof(data: st.DataObject, size: int) -> None:
    leaves = _leaves(size)
    log = _log(leaves)
    index = data.draw(st.integers(0, size - 1))
    leaf, root = log.leaf_hash(index), log.root()
    proof = log.inclusion_proof(index)
    for changed in _bit_flips(leaf):
        with pytest.raises(RootMismatchError):
            verify_inclusion(changed, index, size, proof, root)
    for changed in _bit_flips(root):
        with pytest.raises(RootMismatchError):
            verify_inclusion(leaf, index, size, proof, changed)
    for i, element in enumerate(proof):
        for changed in _bit_flips(element):
            with pytest.raises(RootMismatchError):
                verify_inclusion(leaf, index, size, [*proof[:i], changed, *proof[i + 1 :]], root)


@given(data=st.data(), size=st.integers(min_value=2, max_value=70))
@settings(max_examples=25, deadline=None)
def test_every_single_bit_change_breaks_a_consistency_proof(
    data: st.DataObject, size: int
) -> None:
    log = _log(_leaves(size))
    old = data.draw(st.integers(1, size - 1))
    old_root, new_root = log.root(old), log.root()
    proof = log.consistency_proof(old)
    for changed in _bit_flips(old_root):
        with pytest.raises(RootMismatchError):
            verify_consistency(old, size, changed, new_root, proof)
    for changed in _bit_flips(new_root):
        with pytest.raises(RootMismatchError):
            verify_consistency(old, size, old_root, changed, proof)
    for i, element in enumerate(proof):
        for changed in _bit_flips(element):
            with pytest.raises(RootMismatchError):
                verify_consistency(old, size, old_root, new_root,
                                   [*proof[:i], changed, *proof[i + 1 :]])


@given(data=st.data(), size=st.integers(min_value=2, max_value=100))
@settings(max_examples=40, deadline=None)
def test_a_proof_for_other_sizes_or_index_does_not_verify(data: st.DataObject, size: int) -> None:
    log = _log(_leaves(size))
    index = data.draw(st.integers(0, size - 1))
    other = data.draw(st.integers(0, size - 1).filter(lambda i: i != index))
    with pytest.raises(ProofError):
        verify_inclusion(log.leaf_hash(index), other, size, log.inclusion_proof(index),
                         log.root())
    old = data.draw(st.integers(1, size - 1))
    proof = log.consistency_proof(old)
    with pytest.raises(ProofError):
        verify_consistency(old, size, log.root(old), log.root(), [*proof, proof[0]])
    with pytest.raises(ProofError):
        verify_consistency(old, size, log.root(old), log.root(), proof[:-1])


def test_consistency_from_the_empty_tree_and_to_the_same_size() -> None:
    log = _log(_leaves(5))
    assert log.consistency_proof(0) == []
    assert log.consistency_proof(5) == []
    verify_consistency(0, 5, EMPTY_ROOT, log.root(), [])
    verify_consistency(5, 5, log.root(), log.root(), [])
    with pytest.raises(ProofLengthError):
        verify_consistency(0, 5, EMPTY_ROOT, log.root(), [log.root()])
    with pytest.raises(ProofLengthError):
        verify_consistency(5, 5, log.root(), log.root(), [log.root()])
    with pytest.raises(RootMismatchError):
        verify_consistency(5, 5, log.root(), log.root(4), [])


def test_a_consistency_proof_cannot_be_empty_between_different_sizes() -> None:
    log = _log(_leaves(5))
    with pytest.raises(ProofLengthError, match="empty"):
        verify_consistency(2, 5, log.root(2), log.root(), [])


@pytest.mark.parametrize(
    ("index", "size"),
    [(0, 0), (5, 5), (6, 5), (-1, 5), (0, -1), (0, 1 << 64), (True, 5), (0.0, 5)],
)
def test_inclusion_preconditions_raise_input_errors(index: int, size: int) -> None:
    h = reference.leaf(b"x")
    with pytest.raises(ProofInputError):
        verify_inclusion(h, index, size, [], h)
    with pytest.raises(ProofInputError):
        inclusion_proof(index, size, lambda s, e: h)


@pytest.mark.parametrize(("old", "new"), [(6, 5), (-1, 5), (1, 1 << 64), (False, 1)])
def test_consistency_preconditions_raise_input_errors(old: int, new: int) -> None:
    h = reference.leaf(b"x")
    with pytest.raises(ProofInputError):
        verify_consistency(old, new, h, h, [h])
    with pytest.raises(ProofInputError):
        consistency_proof(old, new, lambda s, e: h)


def test_hashes_of_the_wrong_size_raise_input_errors() -> None:
    h = reference.leaf(b"x")
    with pytest.raises(ProofInputError, match="leaf hash is 31 bytes"):
        verify_inclusion(h[:31], 0, 2, [h], h)
    with pytest.raises(ProofInputError, match=r"inclusion proof\[0\] is 0 bytes"):
        verify_inclusion(h, 0, 2, [b""], h)
    with pytest.raises(ProofInputError, match="root hash"):
        verify_inclusion(h, 0, 2, [h], h + b"\x00")
    with pytest.raises(ProofInputError, match="must be bytes"):
        verify_inclusion("00" * 32, 0, 2, [h], h)  # type: ignore[arg-type]
    with pytest.raises(ProofInputError, match="old root hash"):
        verify_consistency(1, 2, b"short", h, [h])
    with pytest.raises(ProofInputError, match=r"consistency proof\[1\]"):
        verify_consistency(1, 3, h, h, [h, b""])


def test_inclusion_proof_length_errors_name_the_needed_length() -> None:
    log = _log(_leaves(6))
    proof = log.inclusion_proof(2)
    with pytest.raises(ProofLengthError, match="has 4 hashes; it needs 3"):
        root_from_inclusion_proof(log.leaf_hash(2), 2, 6, [*proof, proof[0]])
    with pytest.raises(ProofLengthError, match="has 2 hashes; it needs 3"):
        root_from_inclusion_proof(log.leaf_hash(2), 2, 6, proof[:2])


def test_a_one_leaf_tree_has_an_empty_inclusion_proof() -> None:
    log = _log([b"only"])
    assert log.inclusion_proof(0) == []
    verify_inclusion(reference.leaf(b"only"), 0, 1, [], log.root())
