"""Merkle inclusion and consistency proofs, generated and verified exactly as RFC 9162 defines
them (§2.1.3 and §2.1.4).

Generation is independent of storage: it asks a `SubtreeHash` callable for MTH(D[start:end])
of the aligned ranges the RFC recursion visits. Verification needs nothing but the proof.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from isthmus.integrity.errors import ProofInputError, ProofLengthError, RootMismatchError
from isthmus.integrity.hashing import check_hash, node_hash

__all__ = [
    "SubtreeHash",
    "consistency_proof",
    "inclusion_proof",
    "inclusion_proof_length",
    "root_from_inclusion_proof",
    "verify_consistency",
    "verify_inclusion",
]

#: MTH of the leaves [start, end) of a tree (RFC 9162 §2.1.1).
SubtreeHash = Callable[[int, int], bytes]

_MAX_SIZE = (1 << 64) - 1


def _check_count(value: int, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ProofInputError(f"{what} must be an integer, not {type(value).__name__}")
    if not 0 <= value <= _MAX_SIZE:
        raise ProofInputError(f"{what} {value} is outside 0 … 2^64-1")
    return value


def _split(n: int) -> int:
    """k: the largest power of two smaller than n (n ≥ 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def _check_index(index: int, size: int) -> None:
    _check_count(index, "leaf index")
    _check_count(size, "tree size")
    if index >= size:
        raise ProofInputError(f"leaf index {index} is not in a tree of size {size}")


def inclusion_proof_length(index: int, size: int) -> int:
    """Number of hashes in the inclusion proof of leaf `index` in a tree of `size` leaves."""
    _check_index(index, size)
    inner = (index ^ (size - 1)).bit_length()
    return inner + (index >> inner).bit_count()


def inclusion_proof(index: int, size: int, subtree_hash: SubtreeHash) -> list[bytes]:
    """PATH(index, D[size]) of RFC 9162 §2.1.3.1, deepest sibling first."""
    _check_index(index, size)
    top_down: list[bytes] = []
    start, end, m = 0, size, index
    while end - start > 1:
        k = _split(end - start)
        if m < k:
            top_down.append(subtree_hash(start + k, end))
            end = start + k
        else:
            top_down.append(subtree_hash(start, start + k))
            start, m = start + k, m - k
    top_down.reverse()
    return top_down


def consistency_proof(old_size: int, new_size: int, subtree_hash: SubtreeHash) -> list[bytes]:
    """PROOF(old_size, D[new_size]) = SUBPROOF(old_size, D[new_size], true), RFC 9162 §2.1.4.1.

    Empty when old_size is 0 (every tree extends the empty tree) or equals new_size.
    """
    _check_count(old_size, "old tree size")
    _check_count(new_size, "new tree size")
    if old_size > new_size:
        raise ProofInputError(f"old tree size {old_size} is larger than new tree size {new_size}")
    if old_size in (0, new_size):
        return []
    top_down: list[bytes] = []
    start, end, m, whole = 0, new_size, old_size, True
    while m != end - start:
        k = _split(end - start)
        if m <= k:
            top_down.append(subtree_hash(start + k, end))
            end = start + k
        else:
            top_down.append(subtree_hash(start, start + k))
            start, m, whole = start + k, m - k, False
    if not whole:
        top_down.append(subtree_hash(start, end))
    top_down.reverse()
    return top_down


def _shift_until_odd(fn: int, sn: int) -> tuple[int, int]:
    while fn & 1 == 0 and fn != 0:
        fn, sn = fn >> 1, sn >> 1
    return fn, sn


def root_from_inclusion_proof(
    leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes]
) -> bytes:
    """The root that `proof` leads to from `leaf_hash` (RFC 9162 §2.1.3.2, steps 1–4)."""
    _check_index(index, size)
    r = check_hash(leaf_hash, "leaf hash")
    hashes = [check_hash(p, f"inclusion proof[{i}]") for i, p in enumerate(proof)]
    fn, sn = index, size - 1
    for p in hashes:
        if sn == 0:
            raise ProofLengthError(
                f"inclusion proof for leaf {index} of {size} has {len(hashes)} hashes; "
                f"it needs {inclusion_proof_length(index, size)}"
            )
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if fn & 1 == 0:
                fn, sn = _shift_until_odd(fn, sn)
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofLengthError(
            f"inclusion proof for leaf {index} of {size} has {len(hashes)} hashes; "
            f"it needs {inclusion_proof_length(index, size)}"
        )
    return r


def verify_inclusion(
    leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """Raise unless `proof` shows that `leaf_hash` is leaf `index` of the tree (size, root)."""
    expected = check_hash(root, "root hash")
    computed = root_from_inclusion_proof(leaf_hash, index, size, proof)
    if computed != expected:
        raise RootMismatchError(
            f"inclusion proof for leaf {index} of {size} leads to root {computed.hex()}, "
            f"not {expected.hex()}"
        )


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> None:
    """Raise unless `proof` shows that tree (new_size, new_root) extends (old_size, old_root)
    (RFC 9162 §2.1.4.2; sizes equal need an empty proof and equal roots; an old size of 0
    needs an empty proof)."""
    _check_count(old_size, "old tree size")
    _check_count(new_size, "new tree size")
    if old_size > new_size:
        raise ProofInputError(f"old tree size {old_size} is larger than new tree size {new_size}")
    first = check_hash(old_root, "old root hash")
    second = check_hash(new_root, "new root hash")
    path = [check_hash(p, f"consistency proof[{i}]") for i, p in enumerate(proof)]
    if old_size in (0, new_size):
        if path:
            raise ProofLengthError(
                f"consistency proof from {old_size} to {new_size} must be empty; "
                f"it has {len(path)} hashes"
            )
        if old_size == new_size and first != second:
            raise RootMismatchError(f"trees of equal size {old_size} have different roots")
        return
    _check_consistency_path(old_size, new_size, first, second, path)


def _check_consistency_path(
    old_size: int, new_size: int, first: bytes, second: bytes, path: list[bytes]
) -> None:
    given = len(path)
    too_long = ProofLengthError(
        f"consistency proof from {old_size} to {new_size} has too many hashes ({given})"
    )
    if not path:
        raise ProofLengthError(f"consistency proof from {old_size} to {new_size} is empty")
    if old_size & (old_size - 1) == 0:
        path.insert(0, first)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise too_long
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            if fn & 1 == 0:
                fn, sn = _shift_until_odd(fn, sn)
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofLengthError(
            f"consistency proof from {old_size} to {new_size} has too few hashes ({given})"
        )
    if fr != first:
        raise RootMismatchError(
            f"consistency proof leads to old root {fr.hex()}, not {first.hex()} (size {old_size})"
        )
    if sr != second:
        raise RootMismatchError(
            f"consistency proof leads to new root {sr.hex()}, not {second.hex()} (size {new_size})"
        )
