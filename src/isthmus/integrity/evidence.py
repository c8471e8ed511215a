"""Portable evidence: an inclusion proof for one stored sample that anyone can check with only
the gateway's public key (`ledger prove` / `ledger check-proof`), and consistency proofs
between two signed tree heads (`ledger consistency`).

An inclusion proof file (JSON, format "isthmus-inclusion-proof/2") holds the sample, the
whole leaf it belongs to (the canonical batch bytes, base64) with the batch signature (over
the version-2 signed message of the leaf hash), the leaf index, the audit path and the signed
checkpoint note the path leads to; and, when the log holds one, the newest signed tag map
before the leaf (the policy entry bytes, their signature and their own audit path to the same
checkpoint), so that the proof names the tag's path under a signature, not only its id. Format
/1 carried signatures over the canonical bytes themselves (signed-message version 1), which
are no longer accepted.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from isthmus.historian import LedgerHistorian
from isthmus.historian.codec import decode_blocks
from isthmus.historian.ledger import LeafRow
from isthmus.integrity.alignment import decode_stream, exact_labels, manifest_of
from isthmus.integrity.canonical import BatchHeader, decode_batch, encode_batch
from isthmus.integrity.checkpoint import Checkpoint
from isthmus.integrity.envelope import SignedBatch, keyring, verify_batch
from isthmus.integrity.errors import IntegrityError
from isthmus.integrity.hashing import leaf_hash
from isthmus.integrity.ledger import last_tag_map_row, log_of_hashes
from isthmus.integrity.note import NoteVerifier
from isthmus.integrity.policy import decode_entry
from isthmus.integrity.proofs import verify_consistency, verify_inclusion
from isthmus.integrity.tree import MerkleLog

__all__ = ["PROOF_FORMAT", "EvidenceError", "ProvenSample", "check_inclusion_proof",
           "consistency_evidence", "inclusion_proof_for", "stored_log"]

PROOF_FORMAT = "isthmus-inclusion-proof/2"
_LOW = -(2**63)


class EvidenceError(IntegrityError):
    """A proof cannot be produced or does not prove what it claims."""


@dataclass(frozen=True, slots=True)
class ProvenSample:
    tag_id: int
    ts: int
    value: float
    quality: int
    leaf_index: int
    tree_size: int
    gateway_id: str
    source: str
    seq: int
    tag: str | None = None               # the path, when a signed tag map in the proof names it
    tag_map_index: int | None = None     # the leaf of that tag map


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def stored_log(historian: LedgerHistorian) -> MerkleLog:
    """The Merkle log over the leaf hashes the historian stores."""
    stored = historian.ledger_hashes()
    if any(i != k for k, (i, _) in enumerate(stored)):
        raise EvidenceError("the stored leaf indexes have a gap; run 'isthmus ledger verify'")
    return log_of_hashes([h for _, h in stored])


def _newest_checkpoint(historian: LedgerHistorian, verifiers: Sequence[NoteVerifier],
                       covering: int) -> tuple[str, Checkpoint]:
    for stored in reversed(historian.ledger_checkpoints()):
        if stored.size > covering:
            return stored.note, Checkpoint.open(stored.note, verifiers)
    raise EvidenceError(f"no signed checkpoint covers leaf {covering} yet; run "
                        "'isthmus ledger checkpoint' first")


def _transaction_rows(historian: LedgerHistorian, tx: int) -> list[LeafRow]:
    """The leaf rows whose samples the blocks of transaction `tx` hold (consecutive from tx)."""
    rows: list[LeafRow] = []
    step = 1024
    while True:
        page = historian.ledger_leaves(tx + len(rows), tx + len(rows) + step)
        mine = [r for r in page if r.tx == tx]
        rows += mine
        if len(mine) < step:
            return rows


def _locate(historian: LedgerHistorian, tag_id: int, tag: str, at_ns: int) -> tuple[int, int]:
    """(time, transaction) of the latest ledger sample of the tag at or before `at_ns`."""
    best: tuple[int, int] | None = None
    for tx, t, lo, n, payload in historian.ledger_blocks_at(tag_id, at_ns):
        samples = decode_blocks([(int(t), int(lo), int(n), bytes(payload))], _LOW, at_ns + 1)
        if len(samples) and (best is None or int(samples.ts[-1]) > best[0]):
            best = (int(samples.ts[-1]), int(tx))
    if best is None:
        raise EvidenceError(f"no ledger sample of {tag} at or before {at_ns}")
    return best


def _tag_map_row(historian: LedgerHistorian, gateway_id: str, tag_id: int,
                 before: int) -> LeafRow | None:
    """The newest tag-map policy leaf of `gateway_id` before leaf `before`, if it names
    `tag_id` (None otherwise)."""
    row = last_tag_map_row(historian, gateway_id, before)
    if row is None:
        return None
    tags = decode_entry(row.manifest).body["tags"]
    return row if any(int(i) == tag_id for i, _ in tags) else None


def _tag_map_evidence(historian: LedgerHistorian, log: MerkleLog, row: LeafRow | None,
                      size: int) -> dict[str, Any] | None:
    if row is None:
        return None
    return {"leaf_index": row.index, "entry": _b64(row.manifest),
            "signature": _b64(row.signature),
            "inclusion_proof": [_b64(h) for h in log.inclusion_proof(row.index, size)]}


def inclusion_proof_for(historian: LedgerHistorian, verifiers: Sequence[NoteVerifier],
                        tag_id: int, tag: str, at_ns: int) -> dict[str, Any]:
    """The proof document for the latest ledger sample of `tag_id` at or before `at_ns`."""
    ts, tx = _locate(historian, tag_id, tag, at_ns)
    rows = _transaction_rows(historian, tx)
    samples, _, _ = decode_stream(historian.ledger_blocks(tx, tx + 1))
    labels = exact_labels(*manifest_of(rows), samples)
    if labels is None:
        raise EvidenceError(f"the stored samples of leaf {tx}'s transaction no longer match "
                            "their manifests; run 'isthmus ledger verify'")
    index = int(labels[np.flatnonzero((samples.tag_id == tag_id) & (samples.ts == ts))[-1]])
    (row,) = [r for r in rows if r.index == index]
    batch = samples.take(labels == index)
    payload = encode_batch(BatchHeader(row.gateway_id, row.source, row.seq), batch)
    position = int(np.flatnonzero((batch.tag_id == tag_id) & (batch.ts == ts))[-1])
    note, head = _newest_checkpoint(historian, verifiers, index)
    log = stored_log(historian)
    if log.root(head.size) != head.root or log.leaf_hash(index) != leaf_hash(payload):
        raise EvidenceError(f"leaf {index} or the log no longer matches the signed checkpoint "
                            f"of size {head.size}; run 'isthmus ledger verify'")
    tag_map = _tag_map_evidence(historian, log, _tag_map_row(historian, row.gateway_id, tag_id,
                                                             index), head.size)
    return {
        "format": PROOF_FORMAT,
        "tag": tag,
        "sample": {"tag_id": tag_id, "ts": ts, "value": float(batch.value[position]).hex(),
                   "quality": int(batch.quality[position]), "position": position},
        "leaf_index": index,
        "leaf": _b64(payload),
        "signature": _b64(row.signature),
        "tree_size": head.size,
        "inclusion_proof": [_b64(h) for h in log.inclusion_proof(index, head.size)],
        "checkpoint": note,
        **({"tag_map": tag_map} if tag_map is not None else {}),
    }


def _field(doc: dict[str, Any], name: str) -> Any:
    if name not in doc:
        raise EvidenceError(f"proof file has no {name!r} field")
    return doc[name]


def _decode64(text: Any, what: str) -> bytes:
    try:
        return base64.b64decode(str(text), validate=True)
    except ValueError as exc:
        raise EvidenceError(f"proof file field {what} is not base64: {exc}") from None


def check_inclusion_proof(doc: dict[str, Any], verifier: NoteVerifier) -> ProvenSample:
    """Check a proof document with only the gateway's public key: the batch signature, that
    the sample is in the batch, the audit path, and the checkpoint signature."""
    if _field(doc, "format") != PROOF_FORMAT:
        raise EvidenceError(f"proof file format {doc['format']!r} is not {PROOF_FORMAT!r}: "
                            "prove the sample again with this version")
    payload = _decode64(_field(doc, "leaf"), "leaf")
    header, batch = decode_batch(payload)
    signed = SignedBatch(header, batch, _decode64(_field(doc, "signature"), "signature"))
    verify_batch(signed, keyring([verifier]))
    sample = _field(doc, "sample")
    position = int(sample["position"])
    if not 0 <= position < len(batch):
        raise EvidenceError(f"sample position {position} is outside the batch of {len(batch)}")
    claimed = (int(sample["tag_id"]), int(sample["ts"]), float.fromhex(sample["value"]),
               int(sample["quality"]))
    stored = (int(batch.tag_id[position]), int(batch.ts[position]), float(batch.value[position]),
              int(batch.quality[position]))
    same_value = claimed[2] == stored[2] or (np.isnan(claimed[2]) and np.isnan(stored[2]))
    if claimed[:2] != stored[:2] or claimed[3] != stored[3] or not same_value:
        raise EvidenceError(f"the sample {claimed} is not the one at position {position} of "
                            f"the signed batch {stored}")
    head = Checkpoint.open(_field(doc, "checkpoint"), [verifier], origin=verifier.name)
    index, size = int(_field(doc, "leaf_index")), int(_field(doc, "tree_size"))
    if size != head.size:
        raise EvidenceError(f"proof is for tree size {size}, its checkpoint for {head.size}")
    path = [_decode64(h, "inclusion_proof") for h in _field(doc, "inclusion_proof")]
    verify_inclusion(leaf_hash(payload), index, size, path, head.root)
    tag, map_index = None, None
    if "tag_map" in doc:
        tag, map_index = _check_tag_map(doc, verifier, header.gateway_id, claimed[0], index,
                                        (size, head.root))
    return ProvenSample(claimed[0], claimed[1], claimed[2], claimed[3], index, size,
                        header.gateway_id, header.source, header.seq, tag, map_index)


def _check_tag_map(doc: dict[str, Any], verifier: NoteVerifier, gateway_id: str, tag_id: int,
                   index: int, head: tuple[int, bytes]) -> tuple[str, int]:
    """The tag path that the signed tag map in the proof gives `tag_id`, after checking the
    map's signature, its place in the same signed tree before the sample's leaf, and that
    the proof's `tag` says the same."""
    evidence = _field(doc, "tag_map")
    entry_bytes = _decode64(_field(evidence, "entry"), "tag_map.entry")
    if not verifier.verify(entry_bytes, _decode64(_field(evidence, "signature"),
                                                  "tag_map.signature")):
        raise EvidenceError("the tag map's signature does not verify with the key")
    entry = decode_entry(entry_bytes)
    map_index = int(_field(evidence, "leaf_index"))
    if entry.kind != "tags" or entry.gateway_id != gateway_id or not map_index < index:
        raise EvidenceError(f"the tag map (leaf {map_index}) is not a tag map of {gateway_id!r} "
                            f"signed before leaf {index}")
    path = [_decode64(h, "tag_map.inclusion_proof") for h in
            _field(evidence, "inclusion_proof")]
    verify_inclusion(leaf_hash(entry_bytes), map_index, head[0], path, head[1])
    names = {int(i): str(p) for i, p in entry.body["tags"]}
    if tag_id not in names:
        raise EvidenceError(f"the signed tag map (leaf {map_index}) does not name tag id {tag_id}")
    if doc.get("tag") not in (None, names[tag_id]):
        raise EvidenceError(f"the proof says tag {doc['tag']!r}; the signed tag map names id "
                            f"{tag_id} {names[tag_id]!r}")
    return names[tag_id], map_index


def consistency_evidence(log: MerkleLog, old_note: str, new_note: str,
                         verifiers: Sequence[NoteVerifier]) -> dict[str, Any]:
    """Prove with `log` that the older signed tree head is a prefix of the newer one, check
    the proof, and return it as a document."""
    old = Checkpoint.open(old_note, verifiers)
    new = Checkpoint.open(new_note, verifiers)
    if old.origin != new.origin:
        raise EvidenceError(f"checkpoints of two logs: {old.origin!r} and {new.origin!r}")
    if old.size > new.size:
        old_note, new_note, old, new = new_note, old_note, new, old
    if new.size > log.size:
        raise EvidenceError(f"the newer checkpoint covers {new.size} leaves; the log holds "
                            f"{log.size}")
    proof = log.consistency_proof(old.size, new.size)
    verify_consistency(old.size, new.size, old.root, new.root, proof)
    return {"format": "isthmus-consistency-proof/1", "old": old_note, "new": new_note,
            "old_size": old.size, "new_size": new.size,
            "consistency_proof": [_b64(h) for h in proof]}
