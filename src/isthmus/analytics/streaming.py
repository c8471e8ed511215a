"""The one streaming interface shared by analytics and security detectors: see each batch
once, in order, with bounded memory, and say what happened as events; and `consume`, the
bus loop that feeds one and publishes what it says."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from isthmus.bus import BusClosedError, Message, Subscription
from isthmus.model import Event, SampleBatch, now_ns

__all__ = ["Delivered", "Outgoing", "StreamingDetector", "consume"]

#: what a consumer publishes: events, and batches of derived samples
Outgoing = Event | SampleBatch


@runtime_checkable
class StreamingDetector(Protocol):
    """`update` consumes one batch and returns the events it caused; `tick` lets time pass
    without data (timers, staleness). Detectors that learn a baseline keep `learn` and
    `score` separate on top of this."""

    def update(self, batch: SampleBatch) -> list[Event]: ...

    def tick(self, now_ns: int) -> list[Event]: ...


@dataclass(slots=True)
class Delivered:
    events: int = 0           # events published
    lost_samples: int = 0     # derived samples that found the bus closed


async def consume(subscription: Subscription,
                  on_message: Callable[[Message], Iterable[Outgoing]],
                  publish_event: Callable[[Event], Awaitable[None]],
                  publish_samples: Callable[[SampleBatch], Awaitable[None]] | None = None, *,
                  unpublished: list[Event],
                  on_tick: Callable[[int], Iterable[Outgoing]] | None = None,
                  tick_s: float = 1.0, clock: Callable[[], int] = now_ns) -> Delivered:
    """Consume `subscription` (durable: a batch never seen is an event never raised) until
    the bus closes. `on_message` says what each message makes to publish; `on_tick`, when
    given, what `tick_s` seconds without a message make (at `clock()`). Publishing runs in
    its own task, so that publishing onto the bus that feeds `subscription` never waits on
    this loop. Events that find the bus closed go to `unpublished` for the caller to
    store; derived samples that do are only counted (they are recomputable)."""
    outbox: asyncio.Queue[Outgoing | None] = asyncio.Queue()
    delivered = Delivered()
    async with asyncio.TaskGroup() as group:
        group.create_task(_deliver(outbox, publish_event, publish_samples, unpublished,
                                   delivered))
        try:
            while True:
                if on_tick is None:
                    message = await subscription.get()
                else:
                    try:
                        message = await asyncio.wait_for(subscription.get(), tick_s)
                    except TimeoutError:
                        for item in on_tick(clock()):
                            outbox.put_nowait(item)
                        continue
                if message is None:
                    break
                for item in on_message(message):
                    outbox.put_nowait(item)
        finally:
            outbox.put_nowait(None)
    return delivered


async def _deliver(outbox: asyncio.Queue[Outgoing | None],
                   publish_event: Callable[[Event], Awaitable[None]],
                   publish_samples: Callable[[SampleBatch], Awaitable[None]] | None,
                   unpublished: list[Event], delivered: Delivered) -> None:
    while (item := await outbox.get()) is not None:
        try:
            if isinstance(item, SampleBatch):
                if publish_samples is None:
                    raise TypeError("a consumer without `publish_samples` produced samples")
                await publish_samples(item)
            else:
                await publish_event(item)
                delivered.events += 1
        except BusClosedError:
            if isinstance(item, SampleBatch):
                delivered.lost_samples += len(item)
            else:
                unpublished.append(item)
