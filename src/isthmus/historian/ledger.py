"""What the historian keeps for the integrity ledger (see docs/integrity.md): one row per log
leaf (a signed batch), the leaf index on each of that batch's blocks, signed checkpoints and
retention records. The historian stores and returns these; `isthmus.integrity` checks them.

A leaf row carries a *manifest*: one entry per block written for the leaf (tag id, sample
count, time range and a digest of the stored payload). It is not signed — the batch
signature and the tree heads are what prove integrity — but it lets `ledger verify` say
which block of a failing leaf changed.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from isthmus.historian.codec import Block, encode_blocks, sort_by_tag_and_time
from isthmus.historian.errors import HistorianError
from isthmus.model import SampleBatch

__all__ = [
    "LEAF_COLUMNS",
    "MANIFEST_DTYPE",
    "Checkpointed",
    "LeafEntry",
    "LeafRow",
    "block_digest",
    "blocks_of_leaves",
    "read_manifest",
]

#: Columns of the `ledger_leaves` table after `idx`, in the order `LeafRow` takes them.
LEAF_COLUMNS = ("leaf_hash", "gateway_id", "source", "seq", "signature", "n", "min_ts",
                "max_ts", "manifest")
MANIFEST_DTYPE = np.dtype([("tag_id", "<i4"), ("n", "<i4"), ("min_ts", "<i8"),
                           ("max_ts", "<i8"), ("digest", "V16")])  # V: S strips NULs


_BLOCK_KEY = struct.Struct("<iqqi")


def block_digest(tag_id: int, min_ts: int, max_ts: int, n: int, payload: bytes) -> bytes:
    """The manifest digest of a stored block: SHA-256 (first 16 bytes) of its tag, time
    range, count and payload (a payload alone holds only offsets from `min_ts`, so two
    blocks at different times can share it)."""
    return hashlib.sha256(_BLOCK_KEY.pack(tag_id, min_ts, max_ts, n) + payload).digest()[:16]


@dataclass(frozen=True, eq=False)
class LeafEntry:
    """A verified batch to store as ledger leaf `index` (its samples sorted by tag and time)."""

    index: int
    leaf_hash: bytes
    gateway_id: str
    source: str
    seq: int
    signature: bytes
    batch: SampleBatch


@dataclass(frozen=True, slots=True)
class LeafRow:
    """One stored leaf, as read back."""

    index: int
    leaf_hash: bytes
    gateway_id: str
    source: str
    seq: int
    signature: bytes
    n: int
    min_ts: int
    max_ts: int
    manifest: bytes

    @classmethod
    def of(cls, row: Sequence[object]) -> LeafRow:
        idx, leaf_hash, gateway_id, source, seq, signature, n, lo, hi, manifest = row
        return cls(int(idx), bytes(leaf_hash), str(gateway_id), str(source),  # type: ignore[call-overload]
                   int(seq), bytes(signature), int(n), int(lo), int(hi),  # type: ignore[call-overload]
                   bytes(manifest))  # type: ignore[call-overload]


@dataclass(frozen=True, slots=True)
class Checkpointed:
    """A signed checkpoint note as stored: the tree size it covers and when it was stored."""

    size: int
    stored_ns: int
    note: str


def read_manifest(data: bytes) -> np.ndarray:
    if len(data) % MANIFEST_DTYPE.itemsize:
        raise HistorianError(f"ledger manifest of {len(data)} bytes is not a whole number of "
                             f"{MANIFEST_DTYPE.itemsize}-byte entries")
    return np.frombuffer(data, MANIFEST_DTYPE)


def blocks_of_leaves(entries: Sequence[LeafEntry]) -> tuple[list[Block], list[tuple[object, ...]]]:
    """The blocks (each carrying its leaf index) and the `ledger_leaves` rows of `entries`.
    Each leaf's samples must already be sorted by (tag id, time), as the ledger requires."""
    blocks: list[Block] = []
    rows: list[tuple[object, ...]] = []
    for entry in entries:
        ordered = sort_by_tag_and_time(entry.batch)
        if not np.array_equal(ordered.batch.ts, entry.batch.ts) or not np.array_equal(
                ordered.batch.tag_id, entry.batch.tag_id):
            raise HistorianError(f"ledger leaf {entry.index}: samples are not sorted by tag "
                                 "and time, so the stored blocks could not reproduce it")
        leaf_blocks = encode_blocks(ordered, leaf=entry.index)
        manifest = np.array(
            [(b.tag_id, b.n, b.min_ts, b.max_ts,
              block_digest(b.tag_id, b.min_ts, b.max_ts, b.n, b.payload)) for b in leaf_blocks],
            MANIFEST_DTYPE)
        n = len(entry.batch)
        lo = int(entry.batch.ts.min()) if n else 0
        hi = int(entry.batch.ts.max()) if n else 0
        rows.append((entry.index, entry.leaf_hash, entry.gateway_id, entry.source, entry.seq,
                     entry.signature, n, lo, hi, manifest.tobytes()))
        blocks.extend(leaf_blocks)
    return blocks, rows
