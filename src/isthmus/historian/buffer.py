"""A historian that never loses a write: when the backend is unavailable, batches go to an
fsync'd on-disk log and are replayed in order, exactly once, when it is back.

Every batch gets a sequence number; the backend stores the stream's high-water mark in the
same transaction as the samples (`write_sequenced`), so a batch replayed twice (a crash
during replay, a commit whose acknowledgement was lost) is skipped the second time.
Replay happens before each new write (once the retry interval has passed) and on `replay()`.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from isthmus.historian.api import Aggregate, LedgerHistorian, SequencedHistorian
from isthmus.historian.errors import HistorianCorruption, HistorianError, HistorianUnavailable
from isthmus.historian.ledger import Checkpointed, LeafEntry, LeafRow
from isthmus.historian.segments import SegmentLog
from isthmus.model import Event, SampleBatch, Tag, TagRegistry, UnknownTagError

__all__ = ["BufferStats", "BufferedHistorian"]

log = logging.getLogger(__name__)

_RESERVE = 1_000_000  # sequence numbers reserved on disk at a time


@dataclass(frozen=True, slots=True)
class BufferStats:
    buffered_batches: int  # batches that went to disk because the backend was unavailable
    buffered_samples: int
    replayed_batches: int  # batches later written from disk to the backend
    replayed_samples: int
    skipped_duplicates: int  # replayed batches the backend had already applied
    quarantined_batches: int  # batches the backend rejected (kept in quarantine/)
    backlog_batches: int  # still on disk, waiting for the backend
    backlog_samples: int


class BufferedHistorian:
    """Wraps a historian (or its URL, opened lazily) with a durable buffer in `buffer_dir`.
    Writes keep the order they were made in; reads go to the backend."""

    def __init__(self, inner: SequencedHistorian | str, buffer_dir: str | os.PathLike[str], *,
                 stream: str = "buffer", retry_interval_s: float = 1.0,
                 segment_bytes: int = 64 << 20) -> None:
        self._url = inner if isinstance(inner, str) else None
        self._inner = None if isinstance(inner, str) else inner
        self._dir = Path(buffer_dir)
        self._stream = stream
        self._retry_interval_s = retry_interval_s
        self._retry_at = 0.0
        self._lock = threading.RLock()
        self._log = SegmentLog(self._dir / "pending", segment_bytes=segment_bytes)
        self._quarantine = SegmentLog(self._dir / "quarantine", segment_bytes=segment_bytes)
        self._applied = 0  # highest seq known to be in the backend
        self._counts = {"buffered_batches": 0, "buffered_samples": 0, "replayed_batches": 0,
                        "replayed_samples": 0, "skipped_duplicates": 0}
        self._reserved = self._read_reservation()
        # Wall-clock start: a fresh buffer folder still numbers above any earlier run's.
        self._next_seq = max(self._reserved, self._log.last_seq(), time.time_ns()) + 1

    # --- sequence numbers -------------------------------------------------------------------
    def _read_reservation(self) -> int:
        path = self._dir / "sequence"
        return int(path.read_text()) if path.exists() else 0

    def _take_seq(self) -> int:
        seq = self._next_seq
        self._next_seq += 1
        if seq > self._reserved:
            self._reserved = seq + _RESERVE
            tmp = self._dir / "sequence.tmp"
            with tmp.open("w") as f:
                f.write(str(self._reserved))
                f.flush()
                os.fsync(f.fileno())
            tmp.replace(self._dir / "sequence")
        return seq

    # --- backend ----------------------------------------------------------------------------
    def _backend(self) -> SequencedHistorian:
        if self._inner is None:
            from isthmus.historian import open_historian

            assert self._url is not None
            self._inner = open_historian(self._url)
        return self._inner

    def _available(self) -> bool:
        return time.monotonic() >= self._retry_at

    def _mark_down(self, exc: HistorianUnavailable) -> None:
        log.warning("historian unavailable, buffering to %s: %s", self._dir, exc)
        self._retry_at = time.monotonic() + self._retry_interval_s

    # --- writes -----------------------------------------------------------------------------
    def write(self, batch: SampleBatch) -> None:
        with self._lock:
            seq = self._take_seq()
            if self._available() and self._has_backlog():
                try:
                    self._replay_locked()
                except HistorianCorruption as exc:  # the backlog needs an operator;
                    log.error("buffer %s cannot replay: %s", self._dir, exc)  # keep accepting
            if self._available() and not self._has_backlog():
                try:
                    if self._backend().write_sequenced(batch, stream=self._stream, seq=seq):
                        self._applied = seq
                    return
                except HistorianUnavailable as exc:
                    self._mark_down(exc)
            self._log.append(seq, batch)
            self._counts["buffered_batches"] += 1
            self._counts["buffered_samples"] += len(batch)

    def replay(self) -> int:
        """Write the backlog to the backend now; returns the batches written."""
        with self._lock:
            before = self._counts["replayed_batches"]
            self._replay_locked()
            return self._counts["replayed_batches"] - before

    def _has_backlog(self) -> bool:
        return any(seq > self._applied for s in self._log.segments for seq, _ in s.records)

    def _replay_locked(self) -> None:
        try:
            backend = self._backend()
            self._applied = max(self._applied, backend.high_water(self._stream))
            for segment in list(self._log.segments):
                for seq, batch in self._log.records(segment):
                    if seq <= self._applied:  # already in the backend (lost ack, crash)
                        self._counts["skipped_duplicates"] += 1
                        continue
                    self._replay_one(backend, seq, batch)
                    self._applied = seq
                self._log.drop(segment)
        except HistorianUnavailable as exc:
            self._mark_down(exc)

    def _replay_one(self, backend: SequencedHistorian, seq: int, batch: SampleBatch) -> None:
        try:
            written = backend.write_sequenced(batch, stream=self._stream, seq=seq)
        except HistorianUnavailable:
            raise
        except (HistorianError, UnknownTagError) as exc:
            log.error("buffered batch %d rejected by the historian, quarantined: %s", seq, exc)
            self._quarantine.append(seq, batch)
            return
        if written:
            self._counts["replayed_batches"] += 1
            self._counts["replayed_samples"] += len(batch)
        else:
            self._counts["skipped_duplicates"] += 1

    def stats(self) -> BufferStats:
        with self._lock:
            backlog = [n for s in self._log.segments for seq, n in s.records
                       if seq > self._applied]
            quarantined = sum(len(s.records) for s in self._quarantine.segments)
            return BufferStats(**self._counts, quarantined_batches=quarantined,
                               backlog_batches=len(backlog), backlog_samples=sum(backlog))

    # --- everything else goes to the backend ------------------------------------------------
    def register_tags(self, tags: Sequence[Tag]) -> TagRegistry:
        return self._backend().register_tags(tags)

    def registry(self) -> TagRegistry:
        return self._backend().registry()

    def raw(self, tag: str, start_ns: int, end_ns: int, *,
            limit: int | None = None) -> SampleBatch:
        return self._backend().raw(tag, start_ns, end_ns, limit=limit)

    def aggregate(self, tag: str, start_ns: int, end_ns: int, every_ns: int,
                  fn: str) -> Aggregate:
        return self._backend().aggregate(tag, start_ns, end_ns, every_ns, fn)

    def latest(self, tags: Sequence[str]) -> SampleBatch:
        return self._backend().latest(tags)

    def apply_retention(self, older_than_ns: int) -> int:
        return self._backend().apply_retention(older_than_ns)

    def write_events(self, events: Sequence[Event]) -> None:
        self._backend().write_events(events)

    def events(self, start_ns: int, end_ns: int, *, kind: str | None = None,
               limit: int = 1000) -> list[Event]:
        return self._backend().events(start_ns, end_ns, kind=kind, limit=limit)

    def sample_count(self) -> int:
        return self._backend().sample_count()

    # --- the integrity ledger: written straight to the backend, never buffered -------------
    def _ledger(self) -> LedgerHistorian:
        backend = self._backend()
        if not isinstance(backend, LedgerHistorian):
            raise HistorianError(f"historian {type(backend).__name__} keeps no ledger")
        return backend

    def write_leaves(self, entries: Sequence[LeafEntry]) -> None:
        """Write ledger leaves to the backend after any backlog; raise HistorianUnavailable
        (the caller decides what to do with the batches) while the backend is down."""
        with self._lock:
            if self._available() and self._has_backlog():
                try:
                    self._replay_locked()
                except HistorianCorruption as exc:
                    log.error("buffer %s cannot replay: %s", self._dir, exc)
            if not self._available():
                raise HistorianUnavailable(f"buffered historian {self._dir}: backend is down")
            try:
                self._ledger().write_leaves(entries)
            except HistorianUnavailable as exc:
                self._mark_down(exc)
                raise

    def ledger_hashes(self) -> list[tuple[int, bytes]]:
        return self._ledger().ledger_hashes()

    def ledger_positions(self) -> dict[tuple[str, str], int]:
        return self._ledger().ledger_positions()

    def ledger_leaves(self, start: int = 0, stop: int | None = None) -> list[LeafRow]:
        return self._ledger().ledger_leaves(start, stop)

    def ledger_blocks(self, start: int, stop: int | None) -> list[tuple[Any, ...]]:
        return self._ledger().ledger_blocks(start, stop)

    def unledgered_blocks(self) -> list[tuple[int, int, int, int]]:
        return self._ledger().unledgered_blocks()

    def ledger_blocks_at(self, tag_id: int, at_ns: int) -> list[tuple[Any, ...]]:
        return self._ledger().ledger_blocks_at(tag_id, at_ns)

    def add_checkpoint(self, size: int, note: str) -> None:
        self._ledger().add_checkpoint(size, note)

    def ledger_checkpoints(self) -> list[Checkpointed]:
        return self._ledger().ledger_checkpoints()

    def retention_cutoffs(self) -> list[int]:
        return self._ledger().retention_cutoffs()

    def close(self) -> None:
        with self._lock:
            if self._inner is not None:
                self._inner.close()
