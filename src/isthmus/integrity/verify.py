"""`ledger verify`: rebuild every leaf from the samples the historian holds, check each batch
signature and every signed tree head, and name each change (tag, time range, leaf).

The blocks of one transaction hold, per tag, the runs of its leaves one after the other;
each leaf's manifest says which runs it signed (historian/ledger.py). Per transaction:

* fast path: the stored samples, split by the manifests' counts, have every run's time range
  and checksum (all runs checked in a few vectorised passes);
* otherwise each tag is aligned run by run (integrity/alignment.py) and what does not match
  becomes a conflict: *altered* (other samples where a run should be), *deleted*, *inserted*,
  *reordered* (a run found intact in another transaction's blocks);
* each leaf whose runs were all found is encoded canonically with its header; the batch
  signature must verify over those bytes and their hash must be the stored leaf hash;
* the Merkle tree over the recomputed leaf hashes must have the root of every stored signed
  checkpoint at its size; blocks outside the ledger are reported as *unsigned*.

Policy leaves (integrity/policy.py) are checked first: samples before the newest *signed*
retention cutoff that are gone are reported as *retention*, not as tampering; a retention
record without a signed entry is a *policy* failure; a tag whose path differs from the last
signed tag map is *renamed*.

Last, the 1-minute and 1-hour rollups are recomputed from the raw samples (integrity/
rollups.py): a stored rollup row that differs is *rollup*, unless its bucket overlaps samples
already reported above (their rollups differ because the samples do).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np

from isthmus.historian import HistorianError, LedgerHistorian
from isthmus.historian.ledger import LeafRow
from isthmus.historian.query import BlockSource
from isthmus.integrity.alignment import (
    Conflict,
    Run,
    TagStream,
    align,
    decode_stream,
    exact_labels,
    manifest_of,
    runs_of,
)
from isthmus.integrity.canonical import BatchHeader, batch_leaf_hash, signed_message
from isthmus.integrity.checkpoint import Checkpoint
from isthmus.integrity.errors import IntegrityError
from isthmus.integrity.hashing import leaf_hash
from isthmus.integrity.note import NoteVerifier
from isthmus.integrity.policy import PolicyEntry, decode_entry, source_of
from isthmus.integrity.rollups import RollupMismatch, rollup_mismatches
from isthmus.integrity.store import MemoryLeafStore
from isthmus.integrity.tree import MerkleLog
from isthmus.model import SampleBatch

__all__ = ["FAILURE_KINDS", "Finding", "VerifyReport", "verify_ledger"]

#: Finding kinds that make verification fail; "retention" does not.
FAILURE_KINDS = frozenset({"altered", "deleted", "inserted", "reordered", "unsigned", "leaf",
                           "checkpoint", "policy", "renamed", "rollup"})
#: kinds that change samples (so that their rollups differ too)
_SAMPLE_KINDS = frozenset({"altered", "deleted", "inserted", "reordered", "unsigned", "leaf"})
_NO_HASH = b"\xff" * 32  # stands for a leaf that cannot be recomputed: matches no root


@dataclass(frozen=True, slots=True)
class Finding:
    kind: str
    leaf: int | None
    tag: str | None
    start_ns: int | None
    end_ns: int | None
    samples: int
    detail: str

    @property
    def failure(self) -> bool:
        return self.kind in FAILURE_KINDS


@dataclass(slots=True)
class VerifyReport:
    leaves: int = 0  # batch leaves
    policy_entries: int = 0  # signed policy leaves (retention, tag map)
    samples: int = 0
    checkpoints: int = 0
    checkpoints_ok: int = 0
    signed_size: int = 0  # leaves under the newest valid checkpoint
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not any(f.failure for f in self.findings)


@dataclass(slots=True, eq=False)
class _Group:
    """One transaction as stored: its leaf rows, their runs and its samples sorted by tag."""

    tx: int
    rows: list[LeafRow]
    manifest: np.ndarray  # the leaves' manifest entries, by leaf, then tag
    leaf: np.ndarray  # the leaf of each entry
    samples: SampleBatch  # by tag, then block order
    block: np.ndarray  # block id of each sample


class _Verifier:
    def __init__(self, historian: LedgerHistorian, keys: Mapping[str, NoteVerifier]) -> None:
        self.h = historian
        self.keys = keys
        self.names = {i: t.path for i, t in historian.registry()}
        self.cutoff: int | None = None  # newest signed retention cutoff
        self.report = VerifyReport()
        stored = np.array([i for i, _ in historian.ledger_hashes()], np.int64)
        signed = max((c.size for c in historian.ledger_checkpoints()), default=0)
        # leaves 0…top: every stored one, and every one a signed tree head vouches for
        self.top = max(int(stored.max()) if len(stored) else -1, signed - 1)
        self.present = np.zeros(self.top + 1, bool)
        self.present[stored] = True
        self.hashes = np.full((self.top + 1, 32), 0xFF, np.uint8)  # 0xff…: matches no root
        self.conflicts: list[Conflict] = []
        self.gone: set[int] = set()  # leaf records reported as deleted

    def note(self, kind: str, leaf: int | None, tag_id: int | None, lo: int | None,
             hi: int | None, n: int, detail: str) -> None:
        tag = None if tag_id is None else self.names.get(tag_id, f"tag id {tag_id}")
        self.report.findings.append(Finding(kind, leaf, tag, lo, hi, n, detail))

    def manifest_of(self, rows: list[LeafRow]) -> tuple[np.ndarray, np.ndarray]:
        good = []
        for row in rows:
            try:
                manifest_of([row])
            except HistorianError as exc:
                self.note("leaf", row.index, None, row.min_ts, row.max_ts, row.n, str(exc))
                continue
            good.append(row)
        return manifest_of(good)

    def has_leaf(self, index: int) -> bool:
        return 0 <= index <= self.top and bool(self.present[index])

    def set_hash(self, index: int, digest: bytes) -> None:
        self.hashes[index] = np.frombuffer(digest, np.uint8)

    def pages(self, chunk: int) -> Iterator[list[LeafRow]]:
        for start in range(0, self.top + 1, chunk):
            yield self.h.ledger_leaves(start, min(start + chunk, self.top + 1))

    def run(self, chunk: int) -> VerifyReport:
        """Two streaming passes over the leaf rows, `chunk` at a time: the policy entries
        first (the retention cutoff decides what counts as deleted), then the batch leaves
        with their transactions' blocks."""
        self.check_policies([r for page in self.pages(chunk) for r in page
                             if r.source.startswith("@")])
        carry: list[LeafRow] = []
        start = 0  # the transactions before it are done
        for page in self.pages(chunk):
            rows = carry + [r for r in page if not r.source.startswith("@")]
            cut = rows[-1].tx if rows else start  # the last transaction may go on
            cut = max(cut, start)
            self.check_blocks(self.h.ledger_blocks(start, cut), [r for r in rows if r.tx < cut])
            carry, start = [r for r in rows if r.tx >= cut], cut
        self.check_blocks(self.h.ledger_blocks(start, None), carry)
        for index in np.flatnonzero(~self.present).tolist():
            if index not in self.gone:
                self.note("deleted", index, None, None, None, 0,
                          f"the ledger record of leaf {index} was deleted")
        self.settle_conflicts()
        self.check_unledgered()
        self.check_checkpoints()
        self.check_rollups()
        return self.report

    def check_blocks(self, blocks: list[tuple[Any, ...]], rows: list[LeafRow]) -> None:
        """Check the transactions that these blocks and leaf rows belong to."""
        by_tx: dict[int, list[tuple[Any, ...]]] = defaultdict(list)
        for stored in blocks:
            by_tx[int(stored[0])].append(stored)
        members: dict[int, list[LeafRow]] = defaultdict(list)
        for row in rows:
            members[row.tx].append(row)
        self.report.leaves += len(rows)
        for tx in sorted(set(by_tx) | set(members)):
            group = sorted(members.get(tx, []), key=lambda r: r.index)
            if not group and 0 <= tx <= self.top and not self.present[tx]:
                tags = sorted({int(b[2]) for b in by_tx[tx]})
                self.gone.add(tx)
                self.note("deleted", tx, None, None, None, sum(int(b[5]) for b in by_tx[tx]),
                          f"the ledger record of leaf {tx} was deleted; its blocks of tag "
                          f"ids {tags} remain")
                continue
            samples, block, bad = decode_stream(by_tx.get(tx, []))
            for b in bad:
                self.note("altered", tx, int(b[2]), int(b[3]), int(b[4]), int(b[5]),
                          f"block {b[1]} of leaf {tx}'s transaction cannot be decoded")
            manifest, leaf = self.manifest_of(group)
            self.check_group(_Group(tx, group, manifest, leaf, samples, block))

    # --- signed policy entries ------------------------------------------------------------
    def check_policies(self, policies: list[LeafRow]) -> None:
        """Verify each policy leaf; take the retention cutoff and the tag map from the valid
        ones only, and compare them with what the historian records."""
        tag_map: dict[int, str] | None = None
        self.report.policy_entries = len(policies)
        for row in policies:
            entry = self.policy_entry(row)
            if entry is None:
                continue
            if entry.kind == "retention":
                cutoff = int(entry.body["cutoff_ns"])
                self.cutoff = cutoff if self.cutoff is None else max(self.cutoff, cutoff)
            elif entry.kind == "tags":
                tag_map = {int(i): str(p) for i, p in entry.body["tags"]}
        for cutoff in self.h.retention_cutoffs():
            if self.cutoff is None or cutoff > self.cutoff:
                self.note("policy", None, None, None, cutoff, 0,
                          f"a retention record (cutoff {cutoff}) has no signed retention entry: "
                          "samples it removed are reported as deleted")
        if tag_map is not None:
            self.check_tag_map(tag_map)

    def policy_entry(self, row: LeafRow) -> PolicyEntry | None:
        key = self.keys.get(row.gateway_id)
        try:
            entry = decode_entry(row.manifest)
            if key is None or not key.verify(row.manifest, row.signature):
                raise IntegrityError(f"its signature does not verify under the key of "
                                     f"{row.gateway_id!r}")
            if (entry.gateway_id, source_of(entry.kind), entry.seq) != (
                    row.gateway_id, row.source, row.seq):
                raise IntegrityError("the leaf record's gateway, source or seq was edited")
        except (IntegrityError, KeyError, TypeError, ValueError) as exc:
            self.note("policy", row.index, None, None, None, 0,
                      f"policy leaf {row.index} ({row.source}) is not valid: {exc}")
            return None
        self.set_hash(row.index, leaf_hash(row.manifest))
        if leaf_hash(row.manifest) != row.leaf_hash:
            self.note("leaf", row.index, None, None, None, 0,
                      "the stored leaf hash was edited (the signed policy entry is intact)")
        return entry

    def check_tag_map(self, signed: Mapping[int, str]) -> None:
        for tag_id, path in sorted(self.names.items()):
            if tag_id in signed and signed[tag_id] != path:
                self.note("renamed", None, tag_id, None, None, 0,
                          f"tag id {tag_id} was signed as {signed[tag_id]!r} but the historian "
                          f"now names it {path!r}")

    # --- one transaction --------------------------------------------------------------------
    def check_group(self, group: _Group) -> None:
        for row in group.rows:
            self.report.samples += row.n
        label = exact_labels(group.manifest, group.leaf, group.samples)
        changed: set[int] = set()
        trimmed: set[int] = set()
        if label is None:
            label = self.align_labels(group, changed, trimmed)
        order = np.argsort(label, kind="stable")
        ordered = group.samples.take(order)
        bounds = np.searchsorted(label[order], [r.index for r in group.rows] +
                                 [r.index + 1 for r in group.rows])
        for k, row in enumerate(group.rows):
            if row.index in trimmed:
                self.set_hash(row.index, row.leaf_hash)  # only the tree heads can vouch
            elif row.index not in changed:
                part = ordered.take(slice(int(bounds[k]), int(bounds[k + len(group.rows)])))
                self.set_hash(row.index, self.recompute(row, part))

    def align_labels(self, group: _Group, changed: set[int], trimmed: set[int]) -> np.ndarray:
        """Align each tag run by run; record conflicts; each sample's leaf (-1: none)."""
        s = group.samples
        label = np.full(len(s), -1, np.int64)
        by_tag: dict[int, list[Run]] = defaultdict(list)
        for run in runs_of(group.manifest, group.leaf):
            by_tag[run.tag_id].append(run)
        tags = s.tag_id
        for tag_id in sorted(set(by_tag) | set(np.unique(tags).tolist())):
            lo, hi = np.searchsorted(tags, [tag_id, tag_id + 1])
            stream = TagStream(group.tx, tag_id, s.take(slice(int(lo), int(hi))),
                               group.block[lo:hi])
            runs = by_tag.get(tag_id, [])
            found, conflicts = align(stream, runs)
            for i, at in found.items():
                label[lo + at: lo + at + runs[i].n] = runs[i].leaf
            for conflict in conflicts:
                if self.is_retention(conflict):
                    trimmed.update(r.leaf for r in conflict.runs)
                    continue
                changed.update(r.leaf for r in conflict.runs)
                self.conflicts.append(conflict)
        return label

    def is_retention(self, conflict: Conflict) -> bool:
        """Runs that started before the newest retention cutoff, with only their samples
        at or after it left: report them as retention."""
        if self.cutoff is None or not conflict.runs:
            return False
        if any(r.min_ts >= self.cutoff for r in conflict.runs):
            return False
        ts = conflict.stream.samples.ts[conflict.start:conflict.stop]
        if len(ts) and (ts.min() < self.cutoff or ts.max() > max(r.max_ts
                                                                  for r in conflict.runs)):
            return False
        for r in conflict.runs:
            self.note("retention", r.leaf, r.tag_id, r.min_ts, min(r.max_ts, self.cutoff - 1),
                      r.n, f"removed by the signed retention policy (cutoff {self.cutoff})")
        return True

    def recompute(self, row: LeafRow, batch: SampleBatch) -> bytes:
        problem = None
        digest = _NO_HASH
        try:
            digest = batch_leaf_hash(BatchHeader(row.gateway_id, row.source, row.seq), batch)
            key = self.keys.get(row.gateway_id)
            if key is None:
                problem = f"no public key is known for gateway {row.gateway_id!r}"
            elif not key.verify(signed_message(digest), row.signature):
                problem = (f"the signature of batch {row.seq} of {row.gateway_id}/{row.source} "
                           "does not verify over the stored samples and header")
            elif digest != row.leaf_hash:
                problem = "the stored leaf hash was edited (samples and signature are intact)"
        except IntegrityError as exc:
            problem = f"the leaf cannot be rebuilt: {exc}"
        if problem is not None:
            self.note("leaf", row.index, None, row.min_ts, row.max_ts, row.n,
                      problem + "; the leaf record (gateway, source, seq, signature, "
                      "manifest) was edited")
        return digest

    # --- conflicts across transactions ------------------------------------------------------
    def settle_conflicts(self) -> None:
        missing: dict[tuple[int, int], list[tuple[Conflict, int]]] = defaultdict(list)
        for conflict in self.conflicts:
            for k, run in enumerate(conflict.runs):
                missing[(run.tag_id, run.min_ts)].append((conflict, k))
        unexplained: dict[int, list[tuple[int, int]]] = {}
        for c_id, conflict in enumerate(self.conflicts):
            unexplained[c_id] = [seg for seg in conflict.segments()
                                 if not self.moved_here(conflict, *seg, missing)]
        for c_id, conflict in enumerate(self.conflicts):
            self.report_conflict(conflict, unexplained[c_id])

    def moved_here(self, conflict: Conflict, start: int, stop: int,
                   missing: Mapping[tuple[int, int], list[tuple[Conflict, int]]]) -> bool:
        """Whether stored samples [start, stop) are runs missing from another transaction;
        if so, both ends are reported as reordered."""
        stream = conflict.stream
        key = (stream.tag_id, int(stream.samples.ts[start]))
        for home, k in missing.get(key, []):
            if home.stream.tx == stream.tx or k in home.moved:
                continue
            at, j = start, k
            while at < stop and j < len(home.runs) and stream.matches(home.runs[j], at):
                at, j = at + home.runs[j].n, j + 1
            if at != stop:
                continue
            for run in home.runs[k:j]:
                home.moved[home.runs.index(run)] = stream.tx
                self.note("reordered", stream.tx, run.tag_id, run.min_ts, run.max_ts, run.n,
                          f"block signed in leaf {run.leaf} moved to leaf {stream.tx}")
            return True
        return False

    def report_conflict(self, conflict: Conflict, extra: list[tuple[int, int]]) -> None:
        stream = conflict.stream
        left = [r for k, r in enumerate(conflict.runs) if k not in conflict.moved]
        for k, run in enumerate(conflict.runs):
            if k in conflict.moved:
                self.note("reordered", run.leaf, run.tag_id, run.min_ts, run.max_ts, run.n,
                          f"block signed in leaf {run.leaf} moved to leaf {conflict.moved[k]}")
        if left and extra:
            ts = np.concatenate([stream.samples.ts[a:b] for a, b in extra])
            stored = sum(b - a for a, b in extra)
            for run in left:
                changes = f"content changed ({run.n} samples signed, {stored} stored"
                if (int(ts.min()), int(ts.max())) != (run.min_ts, run.max_ts):
                    changes += "; time range changed"
                self.note("altered", run.leaf, run.tag_id, min(run.min_ts, int(ts.min())),
                          max(run.max_ts, int(ts.max())), run.n, changes + ")")
            return
        for run in left:
            self.note("deleted", run.leaf, run.tag_id, run.min_ts, run.max_ts, run.n,
                      f"{run.n} samples deleted")
        for a, b in extra:
            ts = stream.samples.ts[a:b]
            where = (f"added to leaf {stream.tx}" if self.has_leaf(stream.tx)
                     else f"in leaf {stream.tx}, which does not exist")
            self.note("inserted", stream.tx, stream.tag_id, int(ts.min()), int(ts.max()), b - a,
                      f"{b - a} samples not signed in any leaf, {where}")

    # --- rollups -----------------------------------------------------------------------------
    def check_rollups(self) -> None:
        """Report rollup rows that the raw samples do not give, where no sample finding
        explains them (a sample finding without a time span, such as a deleted leaf record
        with its blocks, leaves the rollups unjudged)."""
        reported = [f for f in self.report.findings if f.kind in _SAMPLE_KINDS]
        if any(f.start_ns is None for f in reported):
            return
        if not all(hasattr(self.h, m) for m in ("select_blocks", "select_rollups")):
            return                           # a historian without rollups
        source = cast(BlockSource, self.h)   # both ledger historians are block stores
        for mismatch in rollup_mismatches(source, sorted(self.names)):
            if not any(self._overlaps(f, mismatch) for f in reported):
                end = mismatch.bucket + mismatch.level_ns - 1
                self.note("rollup", None, mismatch.tag_id, mismatch.bucket, end, 0,
                          f"{mismatch.level_ns // 60_000_000_000}-minute rollup: "
                          f"{mismatch.detail}")

    def _overlaps(self, finding: Finding, mismatch: RollupMismatch) -> bool:
        tag = self.names.get(mismatch.tag_id)
        if finding.tag is not None and finding.tag != tag:
            return False
        lo = finding.start_ns if finding.start_ns is not None else -(2**63)
        hi = finding.end_ns if finding.end_ns is not None else 2**63 - 1
        return lo < mismatch.bucket + mismatch.level_ns and hi >= mismatch.bucket

    # --- outside the leaves -----------------------------------------------------------------
    def check_unledgered(self) -> None:
        for tag_id, n, lo, hi in self.h.unledgered_blocks():
            self.note("unsigned", None, tag_id, lo, hi, n,
                      f"{n} samples are stored outside the ledger (no signature covers them)")

    def check_checkpoints(self) -> None:
        store = MemoryLeafStore()
        store.append(self.hashes)
        log = MerkleLog(store)
        verifiers = list(self.keys.values())
        for stored in self.h.ledger_checkpoints():
            self.report.checkpoints += 1
            try:
                head = Checkpoint.open(stored.note, verifiers)
            except IntegrityError as exc:
                self.note("checkpoint", None, None, None, None, 0,
                          f"stored checkpoint of size {stored.size} is not validly signed: {exc}")
                continue
            if head.size > log.size:
                self.note("checkpoint", None, None, None, None, 0,
                          f"signed checkpoint covers {head.size} leaves but only {log.size} "
                          f"remain: leaves {log.size}…{head.size - 1} were deleted")
            elif log.root(head.size) != head.root:
                self.note("checkpoint", None, None, None, None, 0,
                          f"the leaves 0…{head.size - 1} no longer have the root of the "
                          f"signed checkpoint of size {head.size}")
            else:
                self.report.checkpoints_ok += 1
                self.report.signed_size = max(self.report.signed_size, head.size)


def verify_ledger(historian: LedgerHistorian, keys: Mapping[str, NoteVerifier], *,
                  chunk: int = 2000) -> VerifyReport:
    """Check everything the historian holds against signatures and signed tree heads."""
    return _Verifier(historian, keys).run(chunk)
