"""In-process fan-out of sample batches and events, one bounded queue per subscriber.

A durable subscriber (the historian) applies backpressure: `publish` waits until it has room.
A live subscriber (a dashboard feed) never slows the plant down: its oldest message is dropped
and counted. `close()` lets every subscriber drain what was accepted before it ends.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

from isthmus.model import Event, SampleBatch

__all__ = ["Bus", "BusClosedError", "Message", "Subscription", "SubscriptionStats"]

Message = SampleBatch | Event


class BusClosedError(RuntimeError):
    """Publishing on a bus that was closed."""


class _End:
    """Marks the end of a subscription's stream."""


_END = _End()


@dataclass(slots=True)
class SubscriptionStats:
    delivered_batches: int = 0
    delivered_samples: int = 0
    delivered_events: int = 0
    dropped_batches: int = 0
    dropped_samples: int = 0
    dropped_events: int = 0
    blocked_publishes: int = 0


class Subscription:
    """One subscriber's queue. Iterate it to receive messages until the bus closes;
    with `events_only`, only the events (alarms, security, integrity…), no sample batches."""

    def __init__(self, name: str, *, durable: bool, maxsize: int,
                 events_only: bool = False) -> None:
        if maxsize < 1:
            raise ValueError(f"subscription {name}: maxsize must be at least 1, not {maxsize}")
        self.name = name
        self.durable = durable
        self.events_only = events_only
        self.stats = SubscriptionStats()
        self._queue: asyncio.Queue[Message | _End] = asyncio.Queue(maxsize)

    @property
    def depth(self) -> int:
        return self._queue.qsize()

    async def _offer(self, message: Message) -> None:
        if self.durable:
            if self._queue.full():
                self.stats.blocked_publishes += 1
            await self._queue.put(message)
            return
        while self._queue.full():
            self._count_drop(self._queue.get_nowait())
        self._queue.put_nowait(message)

    def _count_drop(self, message: Message | _End) -> None:
        if isinstance(message, SampleBatch):
            self.stats.dropped_batches += 1
            self.stats.dropped_samples += len(message)
        elif isinstance(message, Event):
            self.stats.dropped_events += 1

    async def _end(self) -> None:
        if not self.durable:
            while self._queue.full():
                self._count_drop(self._queue.get_nowait())
        await self._queue.put(_END)

    async def get(self) -> Message | None:
        """The next message, or None once the bus is closed and the queue drained."""
        message = await self._queue.get()
        if isinstance(message, _End):
            return None
        if isinstance(message, SampleBatch):
            self.stats.delivered_batches += 1
            self.stats.delivered_samples += len(message)
        else:
            self.stats.delivered_events += 1
        return message

    def get_ready(self, limit: int) -> tuple[list[Message], bool]:
        """Up to `limit` messages already queued, without waiting, and whether the end
        marker was reached; lets a sink coalesce many small batches into one write."""
        out: list[Message] = []
        while len(out) < limit and not self._queue.empty():
            message = self._queue.get_nowait()
            if isinstance(message, _End):
                return out, True
            if isinstance(message, SampleBatch):
                self.stats.delivered_batches += 1
                self.stats.delivered_samples += len(message)
            else:
                self.stats.delivered_events += 1
            out.append(message)
        return out, False

    async def __aiter__(self) -> AsyncIterator[Message]:
        while (message := await self.get()) is not None:
            yield message


class Bus:
    """Fan-out of messages to every subscriber, in publish order."""

    def __init__(self) -> None:
        self._subscriptions: list[Subscription] = []
        self._closed = False
        self.published_batches = 0
        self.published_samples = 0
        self.published_events = 0

    def subscribe(self, name: str, *, durable: bool, maxsize: int = 256,
                  events_only: bool = False) -> Subscription:
        if self._closed:
            raise BusClosedError(f"cannot subscribe {name!r}: the bus is closed")
        subscription = Subscription(name, durable=durable, maxsize=maxsize,
                                    events_only=events_only)
        self._subscriptions.append(subscription)
        return subscription

    @property
    def subscriptions(self) -> tuple[Subscription, ...]:
        return tuple(self._subscriptions)

    async def publish(self, message: Message) -> None:
        """Deliver to every subscriber; waits while a durable subscriber is full."""
        if self._closed:
            raise BusClosedError("publish on a closed bus")
        if isinstance(message, SampleBatch):
            if len(message) == 0:
                return
            self.published_batches += 1
            self.published_samples += len(message)
        else:
            self.published_events += 1
        batch = isinstance(message, SampleBatch)
        for subscription in self._subscriptions:
            if not (batch and subscription.events_only):
                await subscription._offer(message)

    async def close(self) -> None:
        """No more publishing; each subscriber receives what was accepted, then its end."""
        if self._closed:
            return
        self._closed = True
        for subscription in self._subscriptions:
            await subscription._end()

    @property
    def closed(self) -> bool:
        return self._closed
