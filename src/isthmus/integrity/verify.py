"""`ledger verify`: recompute every leaf from the samples the historian holds, check each
batch signature and every signed tree head, and name each change (tag, time range, leaf).

What is compared with what:

* the blocks of each leaf are decoded, sorted by (tag, time) and encoded canonically with
  the leaf's header; the batch signature must verify over those bytes and their hash must be
  the stored leaf hash;
* each block is compared with the leaf's manifest (tag, count, time range, payload digest),
  which pins a failing leaf's change to a tag and time range: *altered* (content changed),
  *deleted*, *inserted*, *reordered* (a block moved from one leaf to another);
* the Merkle tree over the recomputed leaf hashes must have the root of every stored
  signed checkpoint at its size;
* blocks outside the ledger are reported as *unsigned*.

Samples removed by a recorded retention run are reported as *retention*, not as tampering.
Retention records are not signed yet (docs/integrity.md, "Not in this slice").
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from isthmus.historian import HistorianError, LedgerHistorian
from isthmus.historian.codec import decode_blocks
from isthmus.historian.ledger import LeafRow, block_digest, read_manifest
from isthmus.integrity.canonical import BatchHeader, encode_batch
from isthmus.integrity.checkpoint import Checkpoint
from isthmus.integrity.errors import IntegrityError
from isthmus.integrity.hashing import leaf_hash
from isthmus.integrity.ledger import log_of_hashes
from isthmus.integrity.note import NoteVerifier

__all__ = ["FAILURE_KINDS", "Finding", "VerifyReport", "verify_ledger"]

#: Finding kinds that make verification fail; "retention" does not.
FAILURE_KINDS = frozenset({"altered", "deleted", "inserted", "reordered", "unsigned", "leaf",
                           "checkpoint"})
_NO_HASH = b"\xff" * 32  # stands for a leaf that cannot be recomputed: matches no root
_LOW, _HIGH = -(2**63), 2**63 - 1


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
    leaves: int = 0
    samples: int = 0
    checkpoints: int = 0
    checkpoints_ok: int = 0
    signed_size: int = 0  # leaves under the newest valid checkpoint
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not any(f.failure for f in self.findings)


@dataclass(slots=True)
class _Block:
    leaf: int
    tag_id: int
    min_ts: int
    max_ts: int
    n: int
    payload: bytes
    digest: bytes

    @classmethod
    def of(cls, row: Sequence[Any]) -> _Block:
        leaf, _id, tag_id, lo, hi, n, payload = row
        data = bytes(payload)
        tag, lo, hi, count = int(tag_id), int(lo), int(hi), int(n)
        return cls(int(leaf), tag, lo, hi, count, data, block_digest(tag, lo, hi, count, data))


class _Verifier:
    def __init__(self, historian: LedgerHistorian, keys: Mapping[str, NoteVerifier]) -> None:
        self.h = historian
        self.keys = keys
        self.names = {i: t.path for i, t in historian.registry()}
        cutoffs = historian.retention_cutoffs()
        self.cutoff = max(cutoffs) if cutoffs else None
        self.report = VerifyReport()
        self.rows = {r.index: r for r in historian.ledger_leaves()}
        self.manifests: dict[int, np.ndarray] = {}
        self.homes: dict[bytes, set[int]] = defaultdict(set)  # digest → leaves signing it
        self.seen: dict[bytes, int] = {}  # stored block digest → leaf that holds it
        self.missing: list[tuple[bytes, Finding]] = []  # deleted, unless seen elsewhere

    def note(self, kind: str, leaf: int | None, tag_id: int | None, lo: int | None,
             hi: int | None, n: int, detail: str) -> None:
        tag = None if tag_id is None else self.names.get(tag_id, f"tag id {tag_id}")
        self.report.findings.append(Finding(kind, leaf, tag, lo, hi, n, detail))

    def load_manifests(self) -> None:
        for index, row in self.rows.items():
            try:
                manifest = read_manifest(row.manifest)
            except HistorianError as exc:
                self.note("leaf", index, None, row.min_ts, row.max_ts, row.n, str(exc))
                manifest = read_manifest(b"")
            self.manifests[index] = manifest
            for entry in manifest:
                self.homes[bytes(entry["digest"])].add(index)

    def run(self, chunk: int) -> VerifyReport:
        self.load_manifests()
        signed = max((c.size for c in self.h.ledger_checkpoints()), default=0)
        top = max(max(self.rows, default=-1), signed - 1)  # a tree head vouches for its size
        hashes: list[bytes] = []
        for start in range(0, top + 1, chunk):
            stop = min(start + chunk, top + 1)
            grouped: dict[int, list[_Block]] = defaultdict(list)
            for row in self.h.ledger_blocks(start, stop):
                block = _Block.of(row)
                grouped[block.leaf].append(block)
                self.seen[block.digest] = block.leaf
            hashes += [self.check_leaf(i, grouped.get(i, [])) for i in range(start, stop)]
        for row in self.h.ledger_blocks(top + 1, None):
            block = _Block.of(row)
            self.seen[block.digest] = block.leaf
            self.extra_block(block, f"in leaf {block.leaf}, which does not exist")
        self.settle_missing()
        self.check_unledgered()
        self.check_checkpoints(hashes)
        self.report.leaves = len(self.rows)
        return self.report

    # --- one leaf ---------------------------------------------------------------------------
    def check_leaf(self, index: int, blocks: list[_Block]) -> bytes:
        row = self.rows.get(index)
        if row is None:
            tags = sorted({b.tag_id for b in blocks})
            self.note("deleted", index, None, None, None, sum(b.n for b in blocks),
                      f"the ledger record of leaf {index} was deleted"
                      + (f"; its blocks of tag ids {tags} remain" if tags else ""))
            return _NO_HASH
        self.report.samples += row.n
        trimmed, changed = self.compare_manifest(row, blocks)
        if trimmed:
            return row.leaf_hash  # retention removed part of it: only the tree can vouch
        return self.recompute(row, blocks, changed)

    def compare_manifest(self, row: LeafRow, blocks: list[_Block]) -> tuple[bool, bool]:
        """Findings per tag; returns (partly removed by retention, a change was named)."""
        actual: dict[int, list[_Block]] = defaultdict(list)
        for block in blocks:
            actual[block.tag_id].append(block)
        trimmed = changed = False
        for entry in self.manifests[row.index]:
            tag_id, digest = int(entry["tag_id"]), bytes(entry["digest"])
            lo, hi, n = int(entry["min_ts"]), int(entry["max_ts"]), int(entry["n"])
            found = actual.pop(tag_id, [])
            match = next((b for b in found if b.digest == digest), None)
            foreign = [b for b in found if b.digest in self.homes
                       and row.index not in self.homes[b.digest]]
            others = [b for b in found if b is not match and b not in foreign]
            for block in foreign:
                changed = True
                self.extra_block(block, f"added to leaf {row.index}")
            if match is None and self.cutoff is not None and lo < self.cutoff:
                trimmed = True
                self.note("retention", row.index, tag_id, lo, min(hi, self.cutoff - 1), n,
                          "removed by retention (an unsigned policy record)")
                others = [b for b in others if b.min_ts < self.cutoff]
            elif match is None and not others:
                changed = True
                finding = Finding("deleted", row.index, self.names.get(tag_id), lo, hi, n,
                                  f"block of {n} samples deleted")
                self.missing.append((digest, finding))
            elif match is None:
                changed = True
                self.altered(row.index, tag_id, lo, hi, n, others[0])
                others = others[1:]
            for extra in others:
                changed = True
                self.extra_block(extra, f"added to leaf {row.index}")
        for extras in actual.values():
            for extra in extras:
                changed = True
                self.extra_block(extra, f"added to leaf {row.index}")
        return trimmed, changed

    def altered(self, leaf: int, tag_id: int, lo: int, hi: int, n: int, block: _Block) -> None:
        what = [f"content changed ({n} samples signed"]
        if block.n != n:
            what.append(f", {block.n} stored")
        if (block.min_ts, block.max_ts) != (lo, hi):
            what.append("; time range changed")
        self.note("altered", leaf, tag_id, min(lo, block.min_ts), max(hi, block.max_ts), n,
                  "".join(what) + ")")

    def extra_block(self, block: _Block, where: str) -> None:
        homes = self.homes.get(block.digest, set()) - {block.leaf}
        if homes:
            home = min(homes)
            self.note("reordered", block.leaf, block.tag_id, block.min_ts, block.max_ts,
                      block.n, f"block signed in leaf {home} moved to leaf {block.leaf}")
            return
        self.note("inserted", block.leaf, block.tag_id, block.min_ts, block.max_ts,
                  block.n, f"block of {block.n} samples not signed in any leaf, {where}")

    def settle_missing(self) -> None:
        for digest, finding in self.missing:
            moved_to = self.seen.get(digest)
            if moved_to is not None and moved_to != finding.leaf:
                self.report.findings.append(Finding(
                    "reordered", finding.leaf, finding.tag, finding.start_ns, finding.end_ns,
                    finding.samples, f"block signed in leaf {finding.leaf} moved to leaf "
                                     f"{moved_to}"))
            else:
                self.report.findings.append(finding)

    def recompute(self, row: LeafRow, blocks: list[_Block], changed: bool) -> bytes:
        problem = None
        digest = _NO_HASH
        try:
            batch = decode_blocks([(b.tag_id, b.min_ts, b.n, b.payload) for b in blocks],
                                  _LOW, _HIGH)
            payload = encode_batch(BatchHeader(row.gateway_id, row.source, row.seq), batch)
            digest = leaf_hash(payload)
            key = self.keys.get(row.gateway_id)
            if key is None:
                problem = f"no public key is known for gateway {row.gateway_id!r}"
            elif not key.verify(payload, row.signature):
                problem = (f"the signature of batch {row.seq} of {row.gateway_id}/{row.source} "
                           "does not verify over the stored samples and header")
            elif digest != row.leaf_hash:
                problem = "the stored leaf hash was edited (samples and signature are intact)"
        except (HistorianError, IntegrityError) as exc:
            problem = f"the leaf cannot be rebuilt: {exc}"
        if problem is not None and not changed:
            self.note("leaf", row.index, None, row.min_ts, row.max_ts, row.n,
                      problem + "; the leaf record (gateway, source, seq, signature, "
                      "manifest) was edited")
        return digest

    # --- outside the leaves -----------------------------------------------------------------
    def check_unledgered(self) -> None:
        for tag_id, n, lo, hi in self.h.unledgered_blocks():
            self.note("unsigned", None, tag_id, lo, hi, n,
                      f"{n} samples are stored outside the ledger (no signature covers them)")

    def check_checkpoints(self, hashes: list[bytes]) -> None:
        log = log_of_hashes(hashes)
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
