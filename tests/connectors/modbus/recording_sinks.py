"""Sinks that record what a connector emits, and a helper that runs one in a task."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

from isthmus.model import Event, SampleBatch


class Collector:
    """The sinks a connector emits into, recording everything."""

    def __init__(self) -> None:
        self.batches: list[SampleBatch] = []
        self.events: list[Event] = []

    async def samples(self, batch: SampleBatch) -> None:
        self.batches.append(batch)

    async def event(self, event: Event) -> None:
        self.events.append(event)

    def rows(self, tag_id: int | None = None) -> list[tuple[int, int, float, int]]:
        return [row for b in self.batches for row in b.rows()
                if tag_id is None or row[0] == tag_id]

    def states(self, state: str) -> list[Event]:
        return [e for e in self.events if e.data.get("state") == state]

    async def until(self, predicate: Callable[[], bool], *, limit_s: float = 10.0) -> None:
        """Wait until `predicate()` holds (the limit only guards against a hang)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + limit_s
        while not predicate():
            if loop.time() > deadline:
                raise AssertionError(f"condition not met within {limit_s} s; events: "
                                     f"{[e.message for e in self.events]}")
            await asyncio.sleep(0.01)


@contextlib.asynccontextmanager
async def running(connector: Any, collector: Collector) -> AsyncIterator[asyncio.Task[None]]:
    """Run a connector in a task; cancel it (a clean stop) on exit."""
    task = asyncio.create_task(connector.run(collector.samples, collector.event))
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            try:
                await asyncio.wait_for(task, 5.0)
            except TimeoutError:
                raise AssertionError("the connector did not stop within 5 s of "
                                     "cancellation") from None
