"""RFC 9162 §2.1.1 hashing: leaf hash SHA-256(0x00 ‖ leaf), node hash SHA-256(0x01 ‖ l ‖ r).

Whole tree levels are hashed in one pass over a contiguous numpy buffer (no per-node Python
objects besides the digest call), which is what makes a full recomputation fast.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from isthmus.integrity.errors import ProofInputError

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "HashArray",
    "check_hash",
    "hash_level",
    "leaf_hash",
    "leaf_hashes",
    "node_hash",
]

#: Size of every hash in the log (SHA-256).
HASH_SIZE = 32
#: Root of the empty tree: SHA-256 of the empty string (RFC 9162 §2.1.1).
EMPTY_ROOT = hashlib.sha256(b"").digest()

#: An (n, 32) uint8 array, one hash per row.
HashArray = npt.NDArray[np.uint8]

_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"


def leaf_hash(leaf: bytes) -> bytes:
    """MTH of a one-leaf tree: SHA-256(0x00 ‖ leaf)."""
    return hashlib.sha256(_LEAF_PREFIX + leaf).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Interior node: SHA-256(0x01 ‖ left ‖ right)."""
    return hashlib.sha256(_NODE_PREFIX + left + right).digest()


def leaf_hashes(leaves: Sequence[bytes]) -> HashArray:
    """Leaf hashes of many leaves as an (n, 32) array."""
    sha = hashlib.sha256
    joined = b"".join([sha(_LEAF_PREFIX + leaf).digest() for leaf in leaves])
    return np.frombuffer(joined, dtype=np.uint8).reshape(-1, HASH_SIZE).copy()


def hash_level(level: HashArray) -> HashArray:
    """Parents of the complete pairs of `level`: row i is node_hash(level[2i], level[2i+1]).

    A trailing odd node has no parent at this level and is left out. One bytes copy of the
    level, then one digest call per pair: the Python-call floor of hashlib.
    """
    pairs = len(level) // 2
    width = 2 * HASH_SIZE
    raw = np.ascontiguousarray(level[: 2 * pairs]).tobytes()
    sha = hashlib.sha256
    prefix = _NODE_PREFIX
    digests = [sha(prefix + raw[i : i + width]).digest() for i in range(0, len(raw), width)]
    joined = b"".join(digests)
    return np.frombuffer(joined, dtype=np.uint8).reshape(-1, HASH_SIZE).copy()


def check_hash(value: bytes, what: str) -> bytes:
    """Return `value` if it is a 32-byte hash, else raise ProofInputError naming `what`."""
    if not isinstance(value, bytes | bytearray | memoryview):
        raise ProofInputError(f"{what} must be bytes, not {type(value).__name__}")
    if len(value) != HASH_SIZE:
        raise ProofInputError(f"{what} is {len(value)} bytes; a SHA-256 hash is {HASH_SIZE}")
    return bytes(value)
