"""The alarm engine as a component on a real in-process bus."""

from __future__ import annotations

import asyncio

from isthmus.analytics import StreamingDetector
from isthmus.analytics.alarms import AlarmState
from isthmus.bus import Bus
from isthmus.model import Event, EventKind
from tests.analytics.conftest import T0, alarm_records, rig

HI = {"id": "hi", "tag": "process/line1/tank1/tank/level", "type": "hi", "limit": 80}


def test_the_engine_is_a_streaming_detector() -> None:
    assert isinstance(rig(HI).engine, StreamingDetector)


async def test_engine_publishes_alarm_events_back_onto_the_bus() -> None:
    r = rig(HI)
    bus = Bus()
    engine_feed = bus.subscribe("alarms", durable=True, maxsize=2)
    stored = bus.subscribe("historian", durable=True, maxsize=1000)
    runner = asyncio.create_task(r.engine.run(engine_feed, bus.publish, clock=lambda: T0))
    # more batches than the engine's queue holds, while its own events come back to it
    for k in range(20):
        await bus.publish(r.batch([("level", k, 90 if k % 2 else 50)]))
    seen: list[Event] = []
    while len(alarm_records(seen)) < 19:  # every batch but the first changes the state
        message = await asyncio.wait_for(stored.get(), 30)
        if isinstance(message, Event):
            seen.append(message)
    await bus.close()
    stats = await asyncio.wait_for(runner, 30)
    records = alarm_records(seen)
    assert [rec.state for rec in records[:3]] == [
        AlarmState.UNACK_ACTIVE, AlarmState.UNACK_RTN, AlarmState.UNACK_ACTIVE]
    assert (stats.batches, stats.events, stats.unpublished) == (20, 19, [])


async def test_events_that_find_the_bus_closed_are_handed_back() -> None:
    r = rig(HI)
    bus = Bus()
    feed = bus.subscribe("alarms", durable=True)
    runner = asyncio.create_task(r.engine.run(feed, bus.publish, clock=lambda: T0))
    await bus.publish(r.batch([("level", 0, 95)]))
    await bus.close()
    stats = await asyncio.wait_for(runner, 30)
    assert [e.kind for e in stats.unpublished] == [EventKind.ALARM]


async def test_time_passes_without_samples(t0: int) -> None:
    r = rig({**HI, "on_delay": 5})
    bus = Bus()
    feed = bus.subscribe("alarms", durable=True)
    published: list[Event] = []

    async def publish(event: Event) -> None:
        published.append(event)

    clock = iter(range(t0 + 10**9, t0 + 10**12, 10**9))
    runner = asyncio.create_task(r.engine.run(feed, publish, tick_s=0.01,
                                              clock=lambda: next(clock)))
    await bus.publish(r.batch([("level", 0, 95)]))
    while not published:
        await asyncio.sleep(0.01)
    await bus.close()
    await asyncio.wait_for(runner, 30)
    assert published[0].ts == t0 + 5 * 10**9
