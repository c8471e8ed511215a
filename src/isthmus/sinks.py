"""Bus consumers that persist: the historian sink coalesces queued batches into few writes.

A batch the historian rejects is quarantined to disk with the reason, counted and reported as
an event: it is never dropped silently.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from isthmus.bus import Message, Subscription
from isthmus.historian import Historian, HistorianUnavailable
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
    last_error: str = ""


def quarantine_batch(batch: SampleBatch, folder: Path, reason: str) -> Path:
    """Save a rejected batch with the reason beside it; returns the file written."""
    folder.mkdir(parents=True, exist_ok=True)
    stem = folder / f"batch-{now_ns()}"
    np.savez(stem.with_suffix(".npz"), tag_id=batch.tag_id, ts=batch.ts, value=batch.value,
             quality=batch.quality, ts_gateway=batch.ts_gateway)
    stem.with_suffix(".json").write_text(json.dumps({"reason": reason, "samples": len(batch)}))
    return stem.with_suffix(".npz")


class HistorianSink:
    """Writes what the bus delivers into a historian, off the event loop."""

    def __init__(
        self,
        historian: Historian,
        subscription: Subscription,
        *,
        quarantine_dir: Path,
        report: Callable[[Event], Awaitable[None]] | None = None,
        coalesce: int = 1024,
        linger_s: float = 0.0,
    ) -> None:
        self._historian = historian
        self._subscription = subscription
        self._quarantine_dir = quarantine_dir
        self._report = report
        self._coalesce = coalesce
        self._linger_s = linger_s
        self._pending_events: list[Event] = []
        self._max_pending_events = 10_000
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
        return self.stats

    async def _write(self, messages: list[Message]) -> None:
        batches = [m for m in messages if isinstance(m, SampleBatch)]
        events = [m for m in messages if isinstance(m, Event)]
        if batches:
            batch = SampleBatch.concat(batches)
            try:
                await asyncio.to_thread(self._historian.write, batch)
            except Exception as exc:  # task boundary: quarantine, count, report, go on
                await self._quarantine(batch, exc)
            else:
                self.stats.writes += 1
                self.stats.samples_written += len(batch)
        await self._write_events(events)

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
        log.error("historian rejected %d samples: %s", len(batch), reason, exc_info=exc)
        path = await asyncio.to_thread(quarantine_batch, batch, self._quarantine_dir, reason)
        self.stats.quarantined_batches += 1
        self.stats.quarantined_samples += len(batch)
        self.stats.last_error = reason
        event = Event(now_ns(), EventKind.SYSTEM, Severity.HIGH,
                      f"historian rejected {len(batch)} samples ({reason}); quarantined in {path}",
                      source="historian-sink", data={"file": str(path)})
        await self._write_events([event])
