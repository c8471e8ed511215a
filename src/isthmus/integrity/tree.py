"""The append-only Merkle log (RFC 9162 §2.1): appends keep an O(log n) compact range (the
roots of the perfect subtrees along the right edge); every completed perfect subtree is kept
so roots of earlier sizes and proofs cost O(log n) lookups, not a rehash.

Reopening a log over a stored leaf file rebuilds the interior level by level in vectorised
passes (`hash_level`), which is the "full recomputation" path.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from isthmus.integrity import proofs
from isthmus.integrity.errors import TreeError
from isthmus.integrity.hashing import (
    EMPTY_ROOT,
    HASH_SIZE,
    HashArray,
    check_hash,
    hash_level,
    leaf_hash,
    leaf_hashes,
    node_hash,
)
from isthmus.integrity.store import GrowingHashArray, LeafStore, MemoryLeafStore

__all__ = ["CompactRange", "MerkleLog"]


class CompactRange:
    """Roots of the perfect subtrees that make up a tree of `size` leaves, largest first
    (one per set bit of `size`): all an appender needs to know to compute the next root."""

    def __init__(self, size: int = 0, nodes: Sequence[bytes] = ()) -> None:
        if size < 0 or len(nodes) != size.bit_count():
            raise TreeError(
                f"a compact range of size {size} has {max(size, 0).bit_count()} nodes, "
                f"not {len(nodes)}"
            )
        self._size = size
        self._nodes = [check_hash(n, "compact range node") for n in nodes]

    @property
    def size(self) -> int:
        return self._size

    @property
    def nodes(self) -> tuple[bytes, ...]:
        return tuple(self._nodes)

    def append(self, leaf: bytes) -> list[bytes]:
        """Add a leaf hash; return the perfect subtrees it completed, at heights 1, 2, …"""
        h = leaf
        completed: list[bytes] = []
        s = self._size
        while s & 1:
            h = node_hash(self._nodes.pop(), h)
            completed.append(h)
            s >>= 1
        self._nodes.append(h)
        self._size += 1
        return completed

    def root(self) -> bytes:
        """MTH of the whole range (the empty-tree root when size is 0)."""
        if not self._nodes:
            return EMPTY_ROOT
        r = self._nodes[-1]
        for n in reversed(self._nodes[:-1]):
            r = node_hash(n, r)
        return r


class MerkleLog:
    """An append-only RFC 9162 Merkle tree over the leaf hashes in `store`."""

    def __init__(self, store: LeafStore | None = None) -> None:
        self._store: LeafStore = MemoryLeafStore() if store is None else store
        self._levels: list[GrowingHashArray] = []  # _levels[h - 1]: perfect subtrees of height h
        self._range = CompactRange()
        self._rebuild()

    def _rebuild(self) -> None:
        size = len(self._store)
        level: HashArray = self._store.read(0, size)
        while len(level) >= 2:
            level = hash_level(level)
            self._levels.append(GrowingHashArray(level))
        nodes = [self._perfect(start, height) for start, height in _perfect_blocks(0, size)]
        self._range = CompactRange(size, nodes)

    @property
    def size(self) -> int:
        return self._range.size

    def append(self, leaf: bytes) -> int:
        """Add one leaf (its data; the log stores its leaf hash); return its index."""
        return self.append_hash(leaf_hash(leaf))

    def append_hash(self, leaf: bytes) -> int:
        """Add one leaf by its leaf hash SHA-256(0x00 ‖ data); return its index."""
        h = check_hash(leaf, "leaf hash")
        index = self.size
        self._store.append(_row(h))
        self._add(h)
        return index

    def extend_hashes(self, leaves: Sequence[bytes]) -> range:
        """Add many leaves by their leaf hashes (one store append); return their range."""
        start = self.size
        hashes = [check_hash(h, "leaf hash") for h in leaves]
        if hashes:
            self._store.append(np.frombuffer(b"".join(hashes), np.uint8).reshape(-1, HASH_SIZE))
        for h in hashes:
            self._add(h)
        return range(start, self.size)

    def extend(self, leaves: Sequence[bytes]) -> range:
        """Add many leaves (their data) at once; return their index range."""
        start = self.size
        hashes = leaf_hashes(leaves)
        self._store.append(hashes)
        for row in hashes:
            self._add(row.tobytes())
        return range(start, self.size)

    def _add(self, h: bytes) -> None:
        for height, node in enumerate(self._range.append(h), start=1):
            if len(self._levels) < height:
                self._levels.append(GrowingHashArray())
            self._levels[height - 1].append(node)

    def flush(self) -> None:
        """Make the stored leaf hashes durable (fsync for a file store)."""
        self._store.flush()

    def leaf_hash(self, index: int) -> bytes:
        if not 0 <= index < self.size:
            raise TreeError(f"leaf {index} is not in a log of {self.size} leaves")
        return self._store.read(index, index + 1).tobytes()

    def _perfect(self, start: int, height: int) -> bytes:
        if height == 0:
            return self._store.read(start, start + 1).tobytes()
        return self._levels[height - 1].get(start >> height)

    def subtree_hash(self, start: int, end: int) -> bytes:
        """MTH(D[start:end]) for a range the RFC recursion visits: start is a multiple of the
        smallest power of two ≥ end - start."""
        n = end - start
        if not 0 <= start < end <= self.size:
            raise TreeError(f"subtree [{start}, {end}) is not in a log of {self.size} leaves")
        if start % (1 << (n - 1).bit_length()):
            raise TreeError(f"subtree [{start}, {end}) is not aligned on a power of two")
        nodes = [self._perfect(s, h) for s, h in _perfect_blocks(start, end)]
        r = nodes[-1]
        for node in reversed(nodes[:-1]):
            r = node_hash(node, r)
        return r

    def root(self, size: int | None = None) -> bytes:
        """MTH of the first `size` leaves (default: all of them)."""
        if size is None:
            return self._range.root()
        if not 0 <= size <= self.size:
            raise TreeError(f"no root for size {size}: the log has {self.size} leaves")
        return EMPTY_ROOT if size == 0 else self.subtree_hash(0, size)

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        """RFC 9162 inclusion proof of leaf `index` in the tree of the first `size` leaves."""
        size = self.size if size is None else size
        if size > self.size:
            raise TreeError(f"no proof for size {size}: the log has {self.size} leaves")
        return proofs.inclusion_proof(index, size, self.subtree_hash)

    def consistency_proof(self, old_size: int, new_size: int | None = None) -> list[bytes]:
        """RFC 9162 consistency proof that the tree of `new_size` extends that of `old_size`."""
        new_size = self.size if new_size is None else new_size
        if new_size > self.size:
            raise TreeError(f"no proof for size {new_size}: the log has {self.size} leaves")
        return proofs.consistency_proof(old_size, new_size, self.subtree_hash)


def _perfect_blocks(start: int, end: int) -> list[tuple[int, int]]:
    """(start, height) of the perfect subtrees covering [start, end), largest first."""
    blocks: list[tuple[int, int]] = []
    n = end - start
    for height in range(n.bit_length() - 1, -1, -1):
        if n >> height & 1:
            blocks.append((start, height))
            start += 1 << height
    return blocks


def _row(h: bytes) -> HashArray:
    return np.frombuffer(h, dtype=np.uint8).reshape(1, -1)
