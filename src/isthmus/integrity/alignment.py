"""Matching one tag's stored samples in a ledger transaction against what its leaves signed.

The blocks of a transaction hold, per tag, the runs of its leaves one after the other. The
leaves' manifests say what each run was (leaf, count, time range, checksum). `align` walks
the stored stream run by run; where a run does not match it re-synchronises on the nearest
later run that does, and reports what lies between as a `Conflict`: runs not found and
stored samples not explained. `ledger verify` turns conflicts into findings.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from isthmus.historian.bulkdecode import decode_in_order
from isthmus.historian.errors import HistorianCorruption
from isthmus.historian.ledger import MANIFEST_DTYPE, LeafRow, read_manifest, run_checksums
from isthmus.model import SampleBatch

__all__ = ["Conflict", "Run", "TagStream", "align", "decode_stream", "exact_labels",
           "manifest_of", "runs_of"]


@dataclass(frozen=True, slots=True)
class Run:
    """One leaf's samples of one tag, as its manifest describes them."""

    leaf: int
    tag_id: int
    n: int
    min_ts: int
    max_ts: int
    digest: bytes


def runs_of(manifest: npt.NDArray[np.void], leaf: npt.NDArray[np.int64]) -> list[Run]:
    """The runs of manifest entries (`leaf` naming each entry's leaf)."""
    return [Run(int(k), int(e["tag_id"]), int(e["n"]), int(e["min_ts"]), int(e["max_ts"]),
                bytes(e["digest"])) for e, k in zip(manifest, leaf.tolist(), strict=True)]


def manifest_of(rows: Sequence[LeafRow]) -> tuple[npt.NDArray[np.void], npt.NDArray[np.int64]]:
    """The manifest entries of consecutive leaf rows and the leaf of each entry
    (HistorianError if a manifest is malformed)."""
    parts = [read_manifest(r.manifest) for r in rows]
    if not parts:
        return np.zeros(0, MANIFEST_DTYPE), np.zeros(0, np.int64)
    leaf = np.repeat(np.array([r.index for r in rows], np.int64), [len(p) for p in parts])
    return np.concatenate(parts), leaf


@dataclass(frozen=True, slots=True, eq=False)
class TagStream:
    """One tag's stored samples in a transaction, in block order, with each sample's block."""

    tx: int
    tag_id: int
    samples: SampleBatch
    block: npt.NDArray[np.int64]

    def __len__(self) -> int:
        return len(self.samples)

    def matches(self, run: Run, at: int) -> bool:
        stop = at + run.n
        if stop > len(self.samples):
            return False
        ts = self.samples.ts
        if int(ts[at]) != run.min_ts or int(ts[stop - 1]) != run.max_ts:
            return False
        part = self.samples.take(slice(at, stop))
        found = run_checksums(part, np.array([0], np.intp), np.array([run.n], np.intp))
        return bytes(found[0]) == run.digest


@dataclass(slots=True)
class Conflict:
    """Runs not found where expected, and the stored samples [start, stop) found instead."""

    stream: TagStream
    runs: list[Run]
    start: int
    stop: int
    moved: dict[int, int] = field(default_factory=dict)  # run position → tx it moved to

    def segments(self) -> list[tuple[int, int]]:
        """The unexplained stored samples, split where the block changes."""
        blocks = self.stream.block[self.start:self.stop]
        if not len(blocks):
            return []
        cuts = np.flatnonzero(blocks[1:] != blocks[:-1]) + 1 + self.start
        bounds = [self.start, *cuts.tolist(), self.stop]
        return list(itertools.pairwise(bounds))


def _resync(stream: TagStream, runs: list[Run], i: int, at: int) -> tuple[int, int]:
    """The first run j >= i found intact at some position >= at: (j, position); or
    (len(runs), len(stream)) when none is."""
    ts = stream.samples.ts[at:]
    for j in range(i, len(runs)):
        for q in (np.flatnonzero(ts == runs[j].min_ts) + at).tolist():
            if stream.matches(runs[j], q):
                return j, q
    return len(runs), len(stream)


def align(stream: TagStream, runs: list[Run]) -> tuple[dict[int, int], list[Conflict]]:
    """Where each run found intact starts in `stream` (by run position), and the conflicts."""
    found: dict[int, int] = {}
    conflicts: list[Conflict] = []
    i = at = 0
    while i < len(runs):
        if stream.matches(runs[i], at):
            found[i] = at
            at += runs[i].n
            i += 1
            continue
        j, q = _resync(stream, runs, i, at)
        conflicts.append(Conflict(stream, runs[i:j], at, q))
        i, at = j, q
    if at < len(stream):
        conflicts.append(Conflict(stream, [], at, len(stream)))
    return found, conflicts


def decode_stream(blocks: Sequence[Sequence[Any]]) -> tuple[SampleBatch, npt.NDArray[np.int64],
                                                           list[Sequence[Any]]]:
    """The samples of (leaf, id, tag_id, min_ts, max_ts, n, payload) block rows given in id
    order, stably sorted by tag (so each tag's runs stay in leaf order), each one's block id,
    and the rows that could not be decoded (left out)."""
    rows = [(int(b[2]), int(b[3]), int(b[5]), bytes(b[6])) for b in blocks]
    bad: list[Sequence[Any]] = []
    try:
        merged = decode_in_order(rows)
    except HistorianCorruption:
        good = []
        for block, row in zip(blocks, rows, strict=True):
            try:
                decode_in_order([row])
            except HistorianCorruption:
                bad.append(block)
            else:
                good.append((block, row))
        blocks, rows = [b for b, _ in good], [r for _, r in good]
        merged = decode_in_order(rows)
    ids = np.repeat(np.array([int(b[1]) for b in blocks], np.int64),
                    [r[2] for r in rows]).astype(np.int64)
    order = np.argsort(merged.tag_id, kind="stable")
    return merged.take(order), ids[order], bad


def exact_labels(manifest: npt.NDArray[np.void], leaf: npt.NDArray[np.int64],
                 samples: SampleBatch) -> npt.NDArray[np.int64] | None:
    """Each sample's leaf when `samples` (sorted by tag) are exactly the runs of `manifest`
    (entries of consecutive leaves, `leaf` naming each entry's leaf), in order; else None.
    All runs are checked in a few vectorised passes."""
    order = np.argsort(manifest["tag_id"], kind="stable")  # leaf order within a tag
    runs, leaf = manifest[order], leaf[order]
    counts = runs["n"].astype(np.intp)
    if int(counts.sum()) != len(samples) or (counts <= 0).any():
        return None
    ends = np.cumsum(counts)
    starts = ends - counts
    if len(samples) and not (np.repeat(runs["tag_id"], counts) == samples.tag_id).all():
        return None
    if not (np.array_equal(samples.ts[starts], runs["min_ts"])
            and np.array_equal(samples.ts[ends - 1], runs["max_ts"])):
        return None
    if run_checksums(samples, starts, ends).tobytes() != runs["digest"].tobytes():
        return None
    return np.repeat(leaf, counts)
