"""The ledger in the running platform: the gateway signs each connector batch, the historian
side verifies it, appends it to the Merkle log as one leaf, stores it with its leaf index and
signs tree heads (checkpoints) on a schedule and on demand.

    gateway:   BatchSigner.sign(source, batch) → SignedSampleBatch on the bus
    historian: Ledger.admit(batches) → verified / refused; Ledger.store(verified) → leaves;
               Ledger.checkpoint() → signed note, stored in the historian

A `SignedSampleBatch` *is* a `SampleBatch` (a subclass carrying the header and signature),
so the bus, the alarm engine and every other consumer treat it as before.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from isthmus.historian import LedgerHistorian
from isthmus.historian.ledger import LeafEntry, LeafRow
from isthmus.integrity.canonical import BatchHeader
from isthmus.integrity.checkpoint import Checkpoint
from isthmus.integrity.envelope import (
    SequenceTracker,
    SignedBatch,
    batch_signature,
    verify_batch,
)
from isthmus.integrity.errors import CanonicalFormError, IntegrityError, UnsignedBatchError
from isthmus.integrity.hashing import HASH_SIZE, leaf_hash
from isthmus.integrity.identity import GatewayIdentity
from isthmus.integrity.note import NoteVerifier
from isthmus.integrity.order import (
    in_ledger_order,
    is_in_ledger_order,
    sort_into_ledger_order,
)
from isthmus.integrity.policy import PolicyEntry, decode_entry, encode_entry, source_of
from isthmus.integrity.store import MemoryLeafStore
from isthmus.integrity.tree import MerkleLog
from isthmus.model import SampleBatch, now_ns

__all__ = [
    "Admission",
    "AdmittedBatch",
    "BatchSigner",
    "Ledger",
    "LedgerError",
    "SignedSampleBatch",
    "in_ledger_order",
    "is_in_ledger_order",
    "last_tag_map_row",
    "log_of_hashes",
]


class LedgerError(IntegrityError):
    """The stored ledger cannot be continued (it needs `isthmus ledger verify`)."""


@dataclass(frozen=True, slots=True, eq=False)
class SignedSampleBatch(SampleBatch):
    """A sample batch with its provenance: header (gateway, source, seq) and signature."""

    header: BatchHeader
    signature: bytes

    def envelope(self) -> SignedBatch:
        plain = SampleBatch(self.tag_id, self.ts, self.value, self.quality, self.ts_gateway)
        return SignedBatch(self.header, plain, self.signature)


def last_tag_map_row(historian: LedgerHistorian, gateway_id: str, before: int,
                     page: int = 2000) -> LeafRow | None:
    """The newest tag-map policy leaf of `gateway_id` before leaf `before`, read back page by
    page from there (None if there is none)."""
    for stop in range(before, 0, -page):
        for row in reversed(historian.ledger_leaves(max(stop - page, 0), stop)):
            if row.source == source_of("tags") and row.gateway_id == gateway_id:
                return row
    return None


class BatchSigner:
    """Signs the gateway's batches: one sequence per source, continuing after `positions`
    (the last sequence number the historian stored for each (gateway, source)). Each batch
    is put in ledger order first: a batch already in it is kept as it is, but a source whose
    batches were not is sorted without looking for the next `RECHECK` batches. What it signs
    is remembered for the gateway's own historian sink (recent.py)."""

    RECHECK = 64

    def __init__(self, identity: GatewayIdentity,
                 positions: Mapping[tuple[str, str], int] | None = None) -> None:
        self._identity = identity
        self._next = {source: seq + 1 for (gw, source), seq in (positions or {}).items()
                      if gw == identity.gateway_id}
        self._unsorted: dict[str, int] = {}  # source → batches to sort before looking again

    def sign(self, source: str, batch: SampleBatch) -> SignedSampleBatch:
        ordered = self._in_ledger_order(source, batch)
        header = BatchHeader(self._identity.gateway_id, source, self._next.get(source, 0))
        message, signature = batch_signature(self._identity, header, ordered)
        self._identity.recent_batches.remember(message, signature)
        self._next[source] = header.seq + 1
        return SignedSampleBatch(ordered.tag_id, ordered.ts, ordered.value, ordered.quality,
                                 ordered.ts_gateway, header, signature)

    def _in_ledger_order(self, source: str, batch: SampleBatch) -> SampleBatch:
        skip = self._unsorted.get(source, 0)
        if skip:  # sorting a batch that happens to be in order changes nothing
            self._unsorted[source] = skip - 1
            return sort_into_ledger_order(batch)
        if is_in_ledger_order(batch):
            return batch
        self._unsorted[source] = self.RECHECK
        return sort_into_ledger_order(batch)


@dataclass(frozen=True, eq=False)
class AdmittedBatch(SignedBatch):
    """A batch `Ledger.admit` accepted: signature, ledger order and sequence checked (so the
    historian need not check its order again when it stores it)."""


@dataclass(slots=True)
class Admission:
    """The outcome of `Ledger.admit`: batches verified in order, and those refused."""

    accepted: list[SignedBatch] = field(default_factory=list)
    refused: list[tuple[SampleBatch, IntegrityError]] = field(default_factory=list)


def log_of_hashes(hashes: Sequence[bytes]) -> MerkleLog:
    """A Merkle log over the given leaf hashes (rebuilt in one pass per level)."""
    store = MemoryLeafStore()
    if hashes:
        store.append(np.frombuffer(b"".join(hashes), np.uint8).reshape(-1, HASH_SIZE))
    return MerkleLog(store)


class Ledger:
    """The receiving side of the ledger over a historian. `admit` is for one sink; appends
    (`store`, `append_policy`) and `checkpoint` hold a lock, as the retention task appends
    too."""

    def __init__(self, historian: LedgerHistorian, identity: GatewayIdentity, *,
                 extra_keys: Sequence[NoteVerifier] = (), checkpoint_every: int = 1000,
                 checkpoint_every_s: float = 60.0) -> None:
        self._historian = historian
        self._identity = identity
        self.keys: dict[str, NoteVerifier] = {k.name: k for k in extra_keys}
        self.keys[identity.gateway_id] = identity.verifier
        self._every = checkpoint_every
        self._every_s = checkpoint_every_s
        stored = historian.ledger_hashes()
        for expected, (index, _) in enumerate(stored):
            if index != expected:
                raise LedgerError(f"ledger: leaf {expected} is missing from the historian (next "
                                  f"stored is {index}); run 'isthmus ledger verify'")
        self.log = log_of_hashes([h for _, h in stored])
        self.tracker = SequenceTracker(historian.ledger_positions())
        self._signed_size, self._signed_at = self._check_last_checkpoint()
        self._lock = threading.Lock()  # the sink and the retention task both append
        self._policy_seq = {source: seq + 1 for (gw, source), seq in
                            self.tracker.positions().items()
                            if gw == identity.gateway_id and source.startswith("@")}
        self._signed_tags = self._last_tag_map()

    def _check_last_checkpoint(self) -> tuple[int, float]:
        stored = self._historian.ledger_checkpoints()
        if not stored:
            return -1, time.monotonic()
        last = stored[-1]
        head = Checkpoint.open(last.note, [self._identity.verifier],
                               origin=self._identity.gateway_id)
        if head.size > self.log.size or self.log.root(head.size) != head.root:
            raise LedgerError(f"the stored leaves do not match the last signed checkpoint "
                              f"(size {head.size}); run 'isthmus ledger verify'")
        return head.size, time.monotonic()

    @property
    def historian(self) -> LedgerHistorian:
        return self._historian

    @property
    def gateway_id(self) -> str:
        return self._identity.gateway_id

    def admit(self, batches: Sequence[SampleBatch]) -> Admission:
        """Verify each batch (signature, ledger order, then sequence) in arrival order; the
        sequence tracker records the accepted ones. A batch this gateway's `BatchSigner` just
        ordered and signed is recognised by its re-derived message and signature
        (recent.py); others are checked in full: with this ledger's own key by signing again
        (`verify_batch(signer=…)`), with their gateway's public key otherwise."""
        result = Admission()
        recent, tracker = self._identity.recent_batches, self.tracker
        for batch in batches:
            try:
                if not isinstance(batch, SignedSampleBatch):
                    raise UnsignedBatchError(f"batch of {len(batch)} samples carries no "
                                             "signature")
                header = batch.header
                # the columns, not copies; handed out only if every check below passes
                signed = AdmittedBatch(header, batch, batch.signature)
                # the message is re-derived from the samples (their leaf hash) either way
                if not recent.recall(signed.signed_message(), batch.signature):
                    self._check(signed, batch)
                tracker.accept(header)
            except IntegrityError as exc:
                result.refused.append((batch, exc))
            else:
                result.accepted.append(signed)
        return result

    def _check(self, signed: SignedBatch, batch: SampleBatch) -> None:
        """Verify a batch this gateway's signer did not just sign: its signature, then its
        ledger order."""
        verify_batch(signed, self.keys, signer=self._identity.signer)
        if not is_in_ledger_order(batch):
            header = signed.header
            raise CanonicalFormError(f"batch {header.seq} of {header.gateway_id}/"
                                     f"{header.source} is not sorted by (tag id, time)")

    def store(self, accepted: Sequence[SignedBatch]) -> range:
        """Append verified batches as leaves and write them to the historian in one
        transaction; the log grows only once the write succeeded."""
        with self._lock:
            return self._store(accepted)

    def _store(self, accepted: Sequence[SignedBatch]) -> range:
        start = self.log.size
        entries = []
        for index, signed in enumerate(accepted, start):
            header, signature = signed.header, signed.signature
            assert signature is not None
            entries.append(LeafEntry(index, signed.digest, header.gateway_id, header.source,
                                     header.seq, signature, signed.batch,
                                     in_order=isinstance(signed, AdmittedBatch)))
        self._historian.write_leaves(entries)
        return self.log.extend_hashes([entry.leaf_hash for entry in entries])

    def checkpoint_due(self) -> bool:
        unsigned = self.log.size - max(self._signed_size, 0)
        return unsigned > 0 and (unsigned >= self._every
                                 or time.monotonic() - self._signed_at >= self._every_s)

    # --- signed policy entries (integrity/policy.py) ----------------------------------------
    def append_policy(self, kind: str, body: dict[str, Any]) -> int:
        """Sign a policy entry and store it as the next leaf; its index."""
        with self._lock:
            source = source_of(kind)
            seq = self._policy_seq.get(source, 0)
            data = encode_entry(PolicyEntry(self.gateway_id, kind, seq, now_ns(), body))
            index = self.log.size
            digest = leaf_hash(data)
            self._historian.write_leaves([LeafEntry(
                index, digest, self.gateway_id, source, seq, self._identity.sign(data),
                SampleBatch.empty(), entry=data)])
            self.log.append_hash(digest)
            self._policy_seq[source] = seq + 1
            return index

    def record_retention(self, cutoff_ns: int, *, policy: str) -> int:
        """Sign that every sample older than `cutoff_ns` is to be deleted under `policy`
        (call before `apply_retention`: a signed entry without a deletion is harmless, a
        deletion without one would read as tampering)."""
        return self.append_policy("retention", {"cutoff_ns": int(cutoff_ns), "policy": policy,
                                                "rollups": True, "tags": "all"})

    def sign_tag_map(self) -> int | None:
        """Sign the historian's tag path ↔ id map when it differs from the last signed one;
        the new leaf's index, or None when unchanged."""
        tags = sorted([i, t.path] for i, t in self._historian.registry())
        if tags == self._signed_tags:
            return None
        index = self.append_policy("tags", {"tags": tags})
        self._signed_tags = tags
        return index

    def _last_tag_map(self) -> list[list[Any]] | None:
        """The newest tag map this gateway signed."""
        if (self.gateway_id, source_of("tags")) not in self.tracker.positions():
            return None
        row = last_tag_map_row(self._historian, self.gateway_id, self.log.size)
        if row is None:
            return None
        tags: list[list[Any]] = decode_entry(row.manifest).body["tags"]
        return tags

    def checkpoint(self) -> str | None:
        """Sign and store a tree head for the current log; None when nothing new to sign."""
        with self._lock:
            return self._checkpoint()

    def _checkpoint(self) -> str | None:
        if self.log.size == self._signed_size:
            return None
        head = Checkpoint.create(self.gateway_id, self.log.size, self.log.root(),
                                 timestamp_ns=now_ns())
        note = head.sign([self._identity.signer])
        self._historian.add_checkpoint(head.size, note)
        self._signed_size, self._signed_at = head.size, time.monotonic()
        return note
