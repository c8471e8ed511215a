"""The bus: fan-out in order, backpressure from durable subscribers, drop-oldest for live ones."""

import asyncio

import pytest

from isthmus.bus import Bus, BusClosedError
from isthmus.model import Event, EventKind, SampleBatch, Severity


def batch(start: int, n: int = 3) -> SampleBatch:
    return SampleBatch.of([1] * n, list(range(start, start + n)), [float(start)] * n)


async def drain(sub) -> list:
    return [m async for m in sub]


async def test_every_subscriber_receives_every_message_in_order() -> None:
    bus = Bus()
    a = bus.subscribe("a", durable=True)
    b = bus.subscribe("b", durable=False)
    event = Event(1, EventKind.SYSTEM, Severity.INFO, "hello")
    for i in range(5):
        await bus.publish(batch(i * 10))
    await bus.publish(event)
    await bus.close()
    got_a, got_b = await drain(a), await drain(b)
    assert [m.ts[0] for m in got_a[:5]] == [0, 10, 20, 30, 40]
    assert got_a[5] is event and got_b[5] is event
    assert a.stats.delivered_samples == 15 and a.stats.delivered_events == 1


async def test_durable_subscriber_blocks_publisher_until_it_has_room() -> None:
    bus = Bus()
    sub = bus.subscribe("historian", durable=True, maxsize=2)
    await bus.publish(batch(0))
    await bus.publish(batch(10))
    third = asyncio.create_task(bus.publish(batch(20)))
    await asyncio.sleep(0.05)
    assert not third.done(), "publish must wait while the durable queue is full"
    assert await sub.get() is not None
    await asyncio.wait_for(third, 1)
    assert sub.stats.blocked_publishes == 1
    draining = asyncio.create_task(drain(sub))
    await bus.close()  # waits for room for its end marker: the subscriber keeps draining
    assert len(await asyncio.wait_for(draining, 1)) == 2
    assert sub.stats.dropped_samples == 0


async def test_live_subscriber_drops_oldest_and_counts() -> None:
    bus = Bus()
    live = bus.subscribe("dashboard", durable=False, maxsize=2)
    for i in range(5):
        await bus.publish(batch(i * 10))
    await bus.close()
    got = await drain(live)
    # the end marker needs a slot too, so one more of the oldest goes
    assert [m.ts[0] for m in got] == [40]
    assert live.stats.dropped_batches == 4 and live.stats.dropped_samples == 12


async def test_get_ready_coalesces_and_sees_the_end() -> None:
    bus = Bus()
    sub = bus.subscribe("h", durable=True)
    for i in range(3):
        await bus.publish(batch(i))
    await bus.close()
    messages, ended = sub.get_ready(10)
    assert len(messages) == 3 and ended


async def test_empty_batches_are_not_published() -> None:
    bus = Bus()
    sub = bus.subscribe("h", durable=True)
    await bus.publish(SampleBatch.empty())
    assert sub.depth == 0 and bus.published_batches == 0


async def test_publish_after_close_is_an_error() -> None:
    bus = Bus()
    await bus.close()
    with pytest.raises(BusClosedError):
        await bus.publish(batch(0))
