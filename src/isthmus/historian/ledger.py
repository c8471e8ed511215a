"""What the historian keeps for the integrity ledger (see docs/integrity.md): one row per log
leaf (a signed batch), signed checkpoints and retention records; the samples themselves are
stored as ordinary blocks, one per tag per transaction, marked with the transaction's first
leaf index. The historian stores and returns these; `isthmus.integrity` checks them.

A transaction of leaves L, L+1, … stores, for each tag, the leaves' samples of that tag one
leaf after the other (each leaf's run sorted by time) in blocks whose `leaf` column is L; a
new block starts only where time goes backwards. Each leaf row names its transaction (`tx`
= L) and carries a *manifest*: one entry per tag run of the leaf (tag id, count, time range,
a 16-byte checksum of the samples). The counts say where each leaf's samples sit inside the
transaction's blocks; the checksums let `ledger verify` say which run of a failing leaf
changed. Neither is signed — the batch signature and the tree heads prove integrity.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

import numpy as np
import numpy.typing as npt

from isthmus.historian.codec import Block, SortedBatch, encode_blocks, sort_by_tag_and_time
from isthmus.historian.errors import HistorianError
from isthmus.model import SampleBatch

__all__ = [
    "LEAF_COLUMNS",
    "MANIFEST_DTYPE",
    "Checkpointed",
    "LeafEntry",
    "LeafRow",
    "LeafWrite",
    "blocks_of_leaves",
    "has_nan",
    "plan_leaves",
    "read_manifest",
    "run_checksums",
    "value_bits",
]

#: Columns of the `ledger_leaves` table after `idx`, in the order `LeafRow` takes them.
LEAF_COLUMNS = ("leaf_hash", "gateway_id", "source", "seq", "signature", "n", "min_ts",
                "max_ts", "manifest", "tx")
MANIFEST_DTYPE = np.dtype([("tag_id", "<i4"), ("n", "<i4"), ("min_ts", "<i8"),
                           ("max_ts", "<i8"), ("digest", "V16")])  # V: S strips NULs

#: The one NaN bit pattern the checksums (and the canonical batch encoding) use.
_CANONICAL_NAN = np.uint64(0x7FF8000000000000)
# Odd 64-bit multipliers (from the SplitMix64 / xxHash families); any odd constants would do.
_K = [np.uint64(k) for k in (0x9E3779B97F4A7C15, 0xBF58476D1CE4E5B9, 0x94D049BB133111EB,
                             0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9, 0xD6E8FEB86659FD93)]
_SHIFT = {k: np.uint64(k) for k in (29, 31, 32)}


def has_nan(values: npt.NDArray[np.float64]) -> bool:
    """True if any value is NaN (NaN wins np.maximum: one pass, no temporary array)."""
    return len(values) > 0 and math.isnan(np.maximum.reduce(values))


def value_bits(value: npt.NDArray[np.float64]) -> npt.NDArray[np.uint64]:
    """The float64 values as uint64 bits, every NaN as the canonical NaN (the checksums and
    the canonical batch encoding both write values so)."""
    bits = np.ascontiguousarray(value, "<f8").view("<u8")
    if has_nan(value):
        bits = bits.copy()
        bits[np.isnan(value)] = _CANONICAL_NAN
    return bits.astype(np.uint64, copy=False)


def run_checksums(batch: SampleBatch, starts: npt.NDArray[np.intp],
                  ends: npt.NDArray[np.intp]) -> npt.NDArray[np.void]:
    """A 16-byte checksum of each run [starts[i], ends[i]) of `batch` (time, value bits,
    quality, gateway time and position in the run), computed in a few vectorised passes
    over two arrays, in place. It locates changes; it is not a cryptographic digest (the
    signature is)."""
    if len(starts) == 0:
        return np.zeros(0, "V16")
    if (ends <= starts).any() or starts[0] != 0 or (starts[1:] != ends[:-1]).any():
        raise HistorianError("ledger checksum: runs must be non-empty and follow each other "
                             "from the first sample")
    n = int(ends[-1])
    x = np.multiply(batch.ts[:n].view(np.uint64), _K[0])
    t = np.multiply(value_bits(batch.value[:n]), _K[1])
    x ^= t
    np.left_shift(batch.quality[:n], _SHIFT[32], out=t, dtype=np.uint64)
    _or_positions(t, starts, ends)
    t *= _K[2]
    x ^= t
    np.multiply(batch.ts_gateway[:n].view(np.uint64), _K[3], out=t)
    x ^= t
    x ^= np.right_shift(x, _SHIFT[31], out=t)
    x *= _K[4]
    x ^= np.right_shift(x, _SHIFT[29], out=t)
    np.right_shift(x, _SHIFT[32], out=t)
    t ^= x
    t *= _K[5]  # t is now the second half's terms, x the first's
    out = np.empty((len(starts), 2), "<u8")
    np.add.reduceat(x, starts, out=out[:, 0])
    np.add.reduceat(t, starts, out=out[:, 1])
    return out.view("V16").reshape(-1)


def _or_positions(t: npt.NDArray[np.uint64], starts: npt.NDArray[np.intp],
                  ends: npt.NDArray[np.intp]) -> None:
    """t |= each sample's position in its run (one broadcast pass when every run is as long,
    as when every tag is polled as often)."""
    lengths = ends - starts
    size = int(lengths[0])
    if (lengths == size).all():
        rows = t.reshape(len(starts), size)
        np.bitwise_or(rows, np.arange(size, dtype=np.uint64), out=rows)
    else:
        t |= np.arange(len(t), dtype=np.uint64) - np.repeat(starts.astype(np.uint64), lengths)


@dataclass(frozen=True, eq=False)
class LeafEntry:
    """A verified batch to store as ledger leaf `index` (its samples sorted by tag and time),
    or, with `entry`, a signed policy entry (no samples; the entry bytes are stored in the
    row's `manifest` column). `in_order` says the caller has checked the order already
    (the ledger does when it admits a batch); otherwise `plan_leaves` checks it."""

    index: int
    leaf_hash: bytes
    gateway_id: str
    source: str
    seq: int
    signature: bytes
    batch: SampleBatch
    entry: bytes | None = None
    in_order: bool = False


@dataclass(frozen=True, slots=True)
class LeafRow:
    """One stored leaf, as read back; `tx` is the first leaf of the transaction whose blocks
    hold its samples (the `leaf` value of those blocks)."""

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
    tx: int

    @classmethod
    def of(cls, row: Sequence[object]) -> LeafRow:
        idx, leaf_hash, gateway_id, source, seq, signature, n, lo, hi, manifest, tx = row
        index = int(idx)  # type: ignore[call-overload]
        return cls(index, bytes(leaf_hash), str(gateway_id), str(source),  # type: ignore[call-overload]
                   int(seq), bytes(signature), int(n), int(lo), int(hi),  # type: ignore[call-overload]
                   bytes(manifest), index if tx is None else int(tx))  # type: ignore[call-overload]


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


def _leaf_runs(tag: npt.NDArray[np.int32], ts: npt.NDArray[np.int64],
               first: npt.NDArray[np.int64], *, check: bool = True
               ) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp], int]:
    """Starts and ends of the tag runs of consecutive leaves whose samples are concatenated
    (leaf k's first sample at `first[k]`), and (with `check`) the first sample out of (tag,
    time) order within its leaf, or -1; one vectorised pass."""
    n = len(tag)
    if n == 0:
        empty = np.zeros(0, np.intp)
        return empty, empty, -1
    new_leaf = np.zeros(n - 1, bool)
    inner = first[(first > 0) & (first < n)]
    new_leaf[inner - 1] = True  # sample i + 1 starts a leaf
    before, after = tag[:-1], tag[1:]
    same_tag = after == before
    wrong = -1
    if check:
        ordered = (after > before) | (same_tag & (ts[1:] >= ts[:-1])) | new_leaf
        wrong = -1 if ordered.all() else int(np.argmin(ordered)) + 1
    change = np.flatnonzero(~same_tag | new_leaf) + 1
    starts = np.empty(len(change) + 1, np.intp)
    starts[0] = 0
    starts[1:] = change
    ends = np.empty_like(starts)
    ends[:-1] = change
    ends[-1] = n
    return starts, ends, wrong


def _manifest_entries(batch: SampleBatch, starts: npt.NDArray[np.intp],
                      ends: npt.NDArray[np.intp]) -> npt.NDArray[np.void]:
    entries = np.empty(len(starts), MANIFEST_DTYPE)
    entries["tag_id"] = batch.tag_id[starts]
    entries["n"] = ends - starts
    entries["min_ts"] = batch.ts[starts]
    entries["max_ts"] = batch.ts[ends - 1]
    entries["digest"] = run_checksums(batch, starts, ends)
    return entries


def _split(entries: npt.NDArray[np.void], starts: npt.NDArray[np.intp],
           first: npt.NDArray[np.int64]) -> list[bytes]:
    """The manifest bytes of each leaf: its runs' entries (leaf k's runs start at sample
    `first[k]`; `first` ends with the sample count)."""
    data, size = entries.tobytes(), MANIFEST_DTYPE.itemsize
    bounds = (np.searchsorted(starts, first) * size).tolist()
    return [data[a:b] for a, b in pairwise(bounds)]


def manifests_of(batch: SampleBatch, counts: npt.NDArray[np.int64]) -> list[bytes]:
    """The manifest of each of the consecutive leaves whose samples (each leaf sorted by tag
    and time; leaf k has `counts[k]`) are concatenated in `batch`: one run_checksums call
    for all of them."""
    first = np.concatenate(([0], np.cumsum(counts))).astype(np.int64)
    starts, ends, _ = _leaf_runs(batch.tag_id, batch.ts, first)
    return _split(_manifest_entries(batch, starts, ends), starts, first)


@dataclass(frozen=True, slots=True, eq=False)
class LeafWrite:
    """What one transaction of leaves writes: the blocks, the `ledger_leaves` rows, and the
    samples sorted by (tag id, time) with their distinct tag ids, for the rollups."""

    blocks: list[Block]
    rows: list[tuple[object, ...]]
    samples: SampleBatch
    tag_ids: npt.NDArray[np.int32]


def plan_leaves(entries: Sequence[LeafEntry]) -> LeafWrite:
    """The blocks, rows and sorted samples of `entries` (consecutive leaves stored in one
    transaction). Each leaf's samples must already be sorted by (tag id, time); the whole
    transaction is sorted once, by tag, and that order serves the blocks and the rollups."""
    if not entries:
        return LeafWrite([], [], SampleBatch.empty(), np.zeros(0, np.int32))
    batch = SampleBatch.concat([e.batch for e in entries])
    first = np.concatenate(([0], np.cumsum([len(e.batch) for e in entries]))).astype(np.int64)
    starts, ends, wrong = _leaf_runs(batch.tag_id, batch.ts, first,
                                     check=not all(e.in_order for e in entries))
    if wrong >= 0:
        index = entries[int(np.searchsorted(first, wrong, side="right")) - 1].index
        raise HistorianError(f"ledger leaf {index}: samples are not sorted by tag and time, "
                             "so the stored blocks could not reproduce it")
    runs = _manifest_entries(batch, starts, ends)
    rows = _leaf_rows(entries, _split(runs, starts, first), runs, starts, first)
    return _tag_blocks(batch, entries[0].index, rows)


def _tag_blocks(batch: SampleBatch, tx: int, rows: list[tuple[object, ...]]) -> LeafWrite:
    """One block per tag for the transaction's samples (a new one where time goes back)."""
    by_tag = batch.take(np.argsort(batch.tag_id, kind="stable"))  # leaves stay in order
    n = len(by_tag)
    if n == 0:
        return LeafWrite([], rows, by_tag, np.zeros(0, np.int32))
    new_tag = by_tag.tag_id[1:] != by_tag.tag_id[:-1]
    back = by_tag.ts[1:] < by_tag.ts[:-1]
    starts = np.concatenate(([0], np.flatnonzero(new_tag | back) + 1)).astype(np.intp)
    ends = np.concatenate((starts[1:], [n])).astype(np.intp)
    blocks = encode_blocks(SortedBatch(by_tag, starts, ends), leaf=tx)
    tag_ids = by_tag.tag_id[np.concatenate(([0], np.flatnonzero(new_tag) + 1))]
    # time goes backwards only within a tag when a leaf holds late data: sort then
    samples = sort_by_tag_and_time(by_tag).batch if (back & ~new_tag).any() else by_tag
    return LeafWrite(blocks, rows, samples, tag_ids)


def _leaf_rows(entries: Sequence[LeafEntry], manifests: list[bytes], runs: npt.NDArray[np.void],
               starts: npt.NDArray[np.intp],
               first: npt.NDArray[np.int64]) -> list[tuple[object, ...]]:
    """The `ledger_leaves` rows; each leaf's time range from its runs' ranges."""
    tx = entries[0].index
    counts = np.diff(first)
    full = counts > 0
    lo = np.zeros(len(entries), np.int64)
    hi = np.zeros(len(entries), np.int64)
    if full.any():
        run_first = np.searchsorted(starts, first[:-1][full])
        lo[full] = np.minimum.reduceat(runs["min_ts"], run_first)
        hi[full] = np.maximum.reduceat(runs["max_ts"], run_first)
    rows: list[tuple[object, ...]] = []
    for entry, manifest, n, low, high in zip(entries, manifests, counts.tolist(), lo.tolist(),
                                             hi.tolist(), strict=True):
        if entry.entry is not None:
            if n:
                raise HistorianError(f"ledger leaf {entry.index}: a policy entry carries no "
                                     "samples")
            manifest = entry.entry
        rows.append((entry.index, entry.leaf_hash, entry.gateway_id, entry.source, entry.seq,
                     entry.signature, n, low, high, manifest,
                     entry.index if entry.entry is not None else tx))
    return rows


def blocks_of_leaves(entries: Sequence[LeafEntry]) -> tuple[list[Block], list[tuple[object, ...]]]:
    """The blocks and the `ledger_leaves` rows of `entries` (see `plan_leaves`)."""
    plan = plan_leaves(entries)
    return plan.blocks, plan.rows
