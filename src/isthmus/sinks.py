"""Bus consumers that persist: the historian sink coalesces queued batches into few writes.

A batch the historian rejects is quarantined to disk with the reason, counted and reported as
an event: it is never dropped silently.

With a ledger (docs/integrity.md) every batch must be signed: each is verified (signature,
then per-source sequence), appended to the Merkle log as one leaf and stored with its leaf
index, all leaves of one write in one transaction. Unsigned, badly signed, replayed and
out-of-order batches are quarantined with an INTEGRITY event. Tree heads are signed on the
ledger's schedule and when the sink ends.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from isthmus.bus import Message, Subscription
from isthmus.historian import Historian, HistorianError, HistorianUnavailable
from isthmus.integrity.errors import IntegrityError
from isthmus.integrity.ledger import Admission, Ledger, SignedSampleBatch
from isthmus.integrity.witness import WitnessError, publish_checkpoint
from isthmus.model import Event, EventKind, SampleBatch, Severity, now_ns

__all__ = ["HistorianSink", "SinkStats", "quarantine_batch"]

log = logging.getLogger(__name__)


@dataclass(slots=True)
class SinkStats:
    writes: int = 0
    samples_written: int = 0
    events_written: int = 0
    events_dropped: int = 0
    quarantined_batches: int = 0
    quarantined_samples: int = 0
    ledger_leaves: int = 0
    checkpoints: int = 0
    checkpoints_exported: int = 0  # hand-overs to witnesses that succeeded
    unledgered_samples: int = 0  # written outside the ledger while the historian was down
    last_error: str = ""


def quarantine_batch(batch: SampleBatch, folder: Path, reason: str) -> Path:
    """Save a rejected batch with the reason (and its signed header, if any) beside it;
    returns the file written."""
    folder.mkdir(parents=True, exist_ok=True)
    stem = folder / f"batch-{now_ns()}"
    np.savez(stem.with_suffix(".npz"), tag_id=batch.tag_id, ts=batch.ts, value=batch.value,
             quality=batch.quality, ts_gateway=batch.ts_gateway)
    meta: dict[str, object] = {"reason": reason, "samples": len(batch)}
    if isinstance(batch, SignedSampleBatch):
        meta.update(gateway_id=batch.header.gateway_id, source=batch.header.source,
                    seq=batch.header.seq, signature=batch.signature.hex())
    stem.with_suffix(".json").write_text(json.dumps(meta))
    return stem.with_suffix(".npz")


class HistorianSink:
    """Writes what the bus delivers into a historian, off the event loop."""

    def __init__(
        self,
        historian: Historian,
        subscription: Subscription,
        *,
        quarantine_dir: Path,
        coalesce: int = 1024,
        linger_s: float = 0.0,
        ledger: Ledger | None = None,
        witnesses: Sequence[str] = (),
    ) -> None:
        self._historian = historian
        self._subscription = subscription
        self._quarantine_dir = quarantine_dir
        self._coalesce = coalesce
        self._linger_s = linger_s
        self._pending_events: list[Event] = []
        self._max_pending_events = 10_000
        self._ledger = ledger
        self._witnesses = tuple(witnesses)
        self.stats = SinkStats()

    async def run(self) -> SinkStats:
        """Consume until the bus closes and every accepted message is written."""
        while (first := await self._subscription.get()) is not None:
            if self._linger_s > 0:
                # a short wait gathers one write's worth of polls: fewer, larger blocks
                await asyncio.sleep(self._linger_s)
            more, ended = self._subscription.get_ready(self._coalesce)
            await self._write([first, *more])
            if ended:
                break
        await self._checkpoint(final=True)
        return self.stats

    async def _write(self, messages: list[Message]) -> None:
        batches = [m for m in messages if isinstance(m, SampleBatch)]
        events = [m for m in messages if isinstance(m, Event)]
        if batches and self._ledger is not None:
            await self._write_ledger(self._ledger, batches)
        elif batches:
            await self._write_plain(SampleBatch.concat(batches))
        await self._write_events(events)

    async def _write_plain(self, batch: SampleBatch) -> None:
        try:
            await asyncio.to_thread(self._historian.write, batch)
        except Exception as exc:  # task boundary: quarantine, count, report, go on
            await self._quarantine(batch, exc)
        else:
            self.stats.writes += 1
            self.stats.samples_written += len(batch)

    async def _write_ledger(self, ledger: Ledger, batches: list[SampleBatch]) -> None:
        admission: Admission = await asyncio.to_thread(ledger.admit, batches)
        for refused, error in admission.refused:
            await self._quarantine(refused, error)
        if admission.accepted:
            samples = sum(len(s.batch) for s in admission.accepted)
            try:
                leaves = await asyncio.to_thread(ledger.store, admission.accepted)
            except HistorianUnavailable as exc:
                await self._store_outside_ledger(admission, exc)
            except Exception as exc:  # task boundary: quarantine, count, report, go on
                await self._quarantine(SampleBatch.concat([s.batch for s in admission.accepted]),
                                       exc)
            else:
                self.stats.writes += 1
                self.stats.samples_written += samples
                self.stats.ledger_leaves += len(leaves)
        await self._checkpoint(final=False)

    async def _store_outside_ledger(self, admission: Admission, exc: Exception) -> None:
        """The historian is down: keep the samples (the durable buffer takes them) and say
        loudly that no leaf covers them."""
        batch = SampleBatch.concat([s.batch for s in admission.accepted])
        await self._write_plain(batch)
        self.stats.unledgered_samples += len(batch)
        await self._write_events([Event(
            now_ns(), EventKind.INTEGRITY, Severity.HIGH,
            f"{len(batch)} verified samples stored outside the ledger: the historian was "
            f"unavailable ({exc})", source="historian-sink",
            data={"batches": len(admission.accepted)})])

    async def _checkpoint(self, *, final: bool) -> None:
        ledger = self._ledger
        if ledger is None or not (final or ledger.checkpoint_due()):
            return
        try:
            note = await asyncio.to_thread(ledger.checkpoint)
        except (HistorianError, IntegrityError) as exc:
            log.warning("ledger checkpoint not signed: %s", exc)
            self.stats.last_error = f"checkpoint: {exc}"
            return
        if note is not None:
            self.stats.checkpoints += 1
            await self._export(note)

    async def _export(self, note: str) -> None:
        """Hand a signed checkpoint to each witness; a witness that keeps failing is reported
        as an INTEGRITY event and the sink goes on (the note stays in the historian)."""
        for url in self._witnesses:
            try:
                await asyncio.to_thread(publish_checkpoint, note, url, attempts=3,
                                        timeout_s=2.0)
            except WitnessError as exc:
                log.warning("checkpoint not exported: %s", exc)
                self.stats.last_error = f"witness: {exc}"
                await self._write_events([Event(
                    now_ns(), EventKind.INTEGRITY, Severity.MEDIUM,
                    f"signed checkpoint not handed to witness: {exc}",
                    source="historian-sink", data={"witness": url})])
            else:
                self.stats.checkpoints_exported += 1

    async def _write_events(self, events: list[Event]) -> None:
        """Write events, keeping them (bounded) while the historian is unavailable."""
        pending = [*self._pending_events, *events]
        if not pending:
            return
        try:
            await asyncio.to_thread(self._historian.write_events, pending)
        except HistorianUnavailable:
            overflow = max(0, len(pending) - self._max_pending_events)
            self.stats.events_dropped += overflow
            self._pending_events = pending[overflow:]
            return
        self._pending_events = []
        self.stats.events_written += len(pending)

    async def _quarantine(self, batch: SampleBatch, exc: Exception) -> None:
        reason = f"{type(exc).__name__}: {exc}"
        integrity = isinstance(exc, IntegrityError)
        kind, what = ((EventKind.INTEGRITY, "refused") if integrity
                      else (EventKind.SYSTEM, "historian rejected"))
        log.error("%s %d samples: %s", what, len(batch), reason,
                  exc_info=None if integrity else exc)
        path = await asyncio.to_thread(quarantine_batch, batch, self._quarantine_dir, reason)
        self.stats.quarantined_batches += 1
        self.stats.quarantined_samples += len(batch)
        self.stats.last_error = reason
        data = {"file": str(path)} | ({"error": type(exc).__name__} if integrity else {})
        event = Event(now_ns(), kind, Severity.HIGH,
                      f"{what} {len(batch)} samples ({reason}); quarantined in {path}",
                      source="historian-sink", data=data)
        await self._write_events([event])
