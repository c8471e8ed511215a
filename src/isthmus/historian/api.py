"""The historian interface every backend implements, and the `Aggregate` result type."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from isthmus.historian.ledger import Checkpointed, LeafEntry, LeafRow
from isthmus.model import Event, SampleBatch, Tag, TagRegistry

__all__ = ["AGGREGATE_FUNCTIONS", "Aggregate", "Historian", "LedgerHistorian",
           "SequencedHistorian"]

#: Aggregate functions `Historian.aggregate` accepts.
AGGREGATE_FUNCTIONS: frozenset[str] = frozenset({"avg", "min", "max", "count", "first", "last"})


@dataclass(frozen=True, eq=False)
class Aggregate:
    """One value per time bucket. `bucket_ns` is the bucket start, a multiple of the bucket
    size since the epoch; `count` is the number of good samples that went into the bucket."""

    bucket_ns: npt.NDArray[np.int64]
    value: npt.NDArray[np.float64]
    count: npt.NDArray[np.int64]

    def __len__(self) -> int:
        return len(self.bucket_ns)


@runtime_checkable
class Historian(Protocol):
    """Blocking historian API; the bus calls it from a worker thread."""

    def register_tags(self, tags: Sequence[Tag]) -> TagRegistry: ...
    def registry(self) -> TagRegistry: ...
    def write(self, batch: SampleBatch) -> None: ...
    def raw(self, tag: str, start_ns: int, end_ns: int, *,
            limit: int | None = None) -> SampleBatch: ...
    def aggregate(self, tag: str, start_ns: int, end_ns: int, every_ns: int,
                  fn: str) -> Aggregate: ...
    def latest(self, tags: Sequence[str]) -> SampleBatch: ...
    def apply_retention(self, older_than_ns: int) -> int: ...
    def write_events(self, events: Sequence[Event]) -> None: ...
    def events(self, start_ns: int, end_ns: int, *, kind: str | None = None,
               limit: int = 1000) -> list[Event]: ...
    def sample_count(self) -> int: ...
    def close(self) -> None: ...


@runtime_checkable
class SequencedHistorian(Historian, Protocol):
    """A historian that can apply a numbered batch exactly once (used by the buffer)."""

    def write_sequenced(self, batch: SampleBatch, *, stream: str, seq: int) -> bool:
        """Write `batch` and record `seq` as the stream's high-water mark in the same
        transaction; return False (writing nothing) if `seq` is not above the mark."""
        ...

    def high_water(self, stream: str) -> int:
        """Highest sequence number applied for `stream` (0 if none)."""
        ...


@runtime_checkable
class LedgerHistorian(Historian, Protocol):
    """A historian that keeps the integrity ledger's leaves, checkpoints and retention records
    (see historian/ledger.py)."""

    def write_leaves(self, entries: Sequence[LeafEntry]) -> None: ...
    def ledger_hashes(self) -> list[tuple[int, bytes]]: ...
    def ledger_positions(self) -> dict[tuple[str, str], int]: ...
    def ledger_leaves(self, start: int = 0, stop: int | None = None) -> list[LeafRow]: ...
    def ledger_blocks(self, start: int, stop: int | None) -> list[tuple[Any, ...]]: ...
    def unledgered_blocks(self) -> list[tuple[int, int, int, int]]: ...
    def ledger_blocks_at(self, tag_id: int, at_ns: int) -> list[tuple[Any, ...]]: ...
    def add_checkpoint(self, size: int, note: str) -> None: ...
    def ledger_checkpoints(self) -> list[Checkpointed]: ...
    def retention_cutoffs(self) -> list[int]: ...
