"""The sensor-integrity engine on the bus: a durable subscriber that sees every batch once,
in order, and publishes the integrity events it raises."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from isthmus.analytics.streaming import consume
from isthmus.bus import Message, Subscription
from isthmus.integrity.sensors.engine import SensorIntegrityEngine
from isthmus.integrity.sensors.settings import IntegrityConfig
from isthmus.model import Event, SampleBatch, TagRegistry

__all__ = ["ConsumerReport", "learn_stored", "run_on_bus", "run_sensor_integrity"]

#: reads a tag's stored samples: (tag path, start ns, end ns) → batch (Historian.raw)
ReadRaw = Callable[[str, int, int], SampleBatch]

log = logging.getLogger(__name__)


@dataclass(slots=True)
class ConsumerReport:
    events: int = 0
    #: events that found the bus closed; the caller stores them in the historian
    unpublished: list[Event] = field(default_factory=list)


async def run_on_bus(engine: SensorIntegrityEngine, subscription: Subscription,
                     publish: Callable[[Event], Awaitable[None]]) -> ConsumerReport:
    """Consume `subscription` until the bus closes. Events leave through their own task,
    so that publishing onto the bus (which offers them back to this subscription) never
    waits on this loop. Use a durable subscription: a batch never seen is a tamper missed."""
    report = ConsumerReport()

    def on_message(message: Message) -> list[Event]:
        return engine.update(message) if isinstance(message, SampleBatch) else []

    delivered = await consume(subscription, on_message, publish,
                              unpublished=report.unpublished)
    report.events = delivered.events
    if report.unpublished:
        log.warning("sensor integrity: %d events found the bus closed; the caller stores them",
                    len(report.unpublished))
    return report


def learn_stored(engine: SensorIntegrityEngine, read_raw: ReadRaw, start_ns: int,
                 end_ns: int, *, chunk_s: float = 3600.0) -> int:
    """Learn from the stored clean period `start_ns`..`end_ns`, an hour at a time, then
    stop learning; returns the samples learned from."""
    paths = [engine.tag_path(i) for i in engine.tag_ids()]
    learned = 0
    step = int(chunk_s * 1e9)
    for t in range(start_ns, end_ns, step):
        parts = [read_raw(p, t, min(t + step, end_ns)) for p in paths]
        batch = SampleBatch.concat([b for b in parts if len(b)])
        engine.learn(batch)
        learned += len(batch)
    engine.finish_learning()
    return learned


async def run_sensor_integrity(config: IntegrityConfig, registry: TagRegistry, *, prefix: str,
                               subscription: Subscription,
                               publish: Callable[[Event], Awaitable[None]],
                               read_raw: ReadRaw | None = None) -> ConsumerReport:
    """What the gateway runs: the engine for `config`, first taught from the stored period
    `learn.from`..`learn.to` when one is configured (else it learns on the first
    `learn.first` seconds of live data), then consuming the bus."""
    engine = SensorIntegrityEngine(config, registry, prefix=prefix)
    start, end = config.learn.start, config.learn.end
    if start is not None and end is not None and read_raw is not None:
        count = await asyncio.to_thread(learn_stored, engine, read_raw,
                                        int(start.timestamp() * 1e9), int(end.timestamp() * 1e9))
        log.info("sensor integrity: learned from %d stored samples (%s .. %s)", count, start, end)
    return await run_on_bus(engine, subscription, publish)
