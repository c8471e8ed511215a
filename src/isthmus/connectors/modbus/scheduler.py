"""Cycle scheduling for one link: each item repeats at its period, phases are spread so
that items of a period are not polled in lockstep, and missed cycles are counted."""

from __future__ import annotations

import heapq
import itertools
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

__all__ = ["CycleScheduler"]

T = TypeVar("T")


@dataclass(order=True, slots=True)
class _Entry(Generic[T]):
    due: float
    seq: int
    period: float = field(compare=False)
    item: T = field(compare=False)


class CycleScheduler(Generic[T]):
    """A heap of periodic items. `overruns` counts cycles that could not start in their
    slot because the link was still busy: they are counted, never silently skipped."""

    def __init__(self, *, rng: random.Random) -> None:
        self._rng = rng
        self._heap: list[_Entry[T]] = []
        self._seq = itertools.count()
        self.overruns = 0

    def reset(self, items: Sequence[tuple[T, float]], now: float) -> None:
        """(Re)start every item: item i of n with period p first runs at a stratified,
        jittered phase in [i/n·p, (i+1)/n·p) from now."""
        self._heap = []
        by_period: dict[float, list[T]] = {}
        for item, period in items:
            if period <= 0:
                raise ValueError(f"scheduler period {period} must be positive")
            by_period.setdefault(period, []).append(item)
        for period, group in by_period.items():
            n = len(group)
            for i, item in enumerate(group):
                phase = (i + self._rng.random()) / n * period
                heapq.heappush(self._heap, _Entry(now + phase, next(self._seq), period, item))

    def __len__(self) -> int:
        return len(self._heap)

    def next_due(self) -> float:
        if not self._heap:
            raise LookupError("scheduler is empty")
        return self._heap[0].due

    def pop_due(self, now: float) -> T:
        """The earliest item (call when `now >= next_due()`), rescheduled one period on;
        whole periods it started late by are counted as overruns and skipped."""
        entry = heapq.heappop(self._heap)
        missed = math.floor((now - entry.due) / entry.period) if now > entry.due else 0
        self.overruns += missed
        entry.due += (missed + 1) * entry.period
        entry.seq = next(self._seq)
        heapq.heappush(self._heap, entry)
        return entry.item
