"""The one streaming interface shared by analytics and security detectors: see each batch
once, in order, with bounded memory, and say what happened as events."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from isthmus.model import Event, SampleBatch

__all__ = ["StreamingDetector"]


@runtime_checkable
class StreamingDetector(Protocol):
    """`update` consumes one batch and returns the events it caused; `tick` lets time pass
    without data (timers, staleness). Detectors that learn a baseline keep `learn` and
    `score` separate on top of this."""

    def update(self, batch: SampleBatch) -> list[Event]: ...

    def tick(self, now_ns: int) -> list[Event]: ...
