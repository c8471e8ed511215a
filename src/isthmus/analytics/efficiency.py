"""The efficiency analytics of a site as one bus consumer: SPC, OEE and energy see each batch
once, in order; their events and derived tags (capability per shift, OEE per shift and day,
energy per demand interval) are published back through a separate task so that publishing
can never wait on this consumer's own full queue."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from isthmus.analytics.energy import EnergyMonitor, energy_derived_tags
from isthmus.analytics.oee import OeeMonitor, oee_derived_tags
from isthmus.analytics.spc import SpcMonitor, spc_derived_tags
from isthmus.bus import BusClosedError, Subscription
from isthmus.config.schema import SiteConfig
from isthmus.model import Event, SampleBatch, Tag, TagRegistry, now_ns

__all__ = ["EfficiencyAnalytics", "EfficiencyStats", "efficiency_derived_tags"]

log = logging.getLogger(__name__)


def efficiency_derived_tags(site: SiteConfig) -> list[Tag]:
    """The derived tags the site's SPC, OEE and energy sections write."""
    return [*spc_derived_tags(site), *oee_derived_tags(site), *energy_derived_tags(site)]


@dataclass(slots=True)
class EfficiencyStats:
    batches: int = 0
    samples: int = 0
    events: int = 0
    derived_samples: int = 0
    unpublished: list[Event] = field(default_factory=list)


Monitor = SpcMonitor | OeeMonitor | EnergyMonitor


class EfficiencyAnalytics:
    """`update(batch)`/`tick(now)` return events; `take_derived()` the derived samples."""

    def __init__(self, site: SiteConfig, registry: TagRegistry) -> None:
        self.monitors: list[Monitor] = []
        if site.spc.charts:
            self.monitors.append(SpcMonitor(site, registry))
        if site.oee.lines:
            self.monitors.append(OeeMonitor(site, registry))
        if site.energy.meters:
            self.monitors.append(EnergyMonitor(site, registry))
        self.stats = EfficiencyStats()

    def __bool__(self) -> bool:
        return bool(self.monitors)

    def update(self, batch: SampleBatch) -> list[Event]:
        self.stats.batches += 1
        self.stats.samples += len(batch)
        events = [e for m in self.monitors for e in m.update(batch)]
        self.stats.events += len(events)
        return events

    def tick(self, now_ns: int) -> list[Event]:
        events = [e for m in self.monitors for e in m.tick(now_ns)]
        self.stats.events += len(events)
        return events

    def take_derived(self) -> SampleBatch:
        batch = SampleBatch.concat([m.derived.take() for m in self.monitors
                                    if len(m.derived)])
        self.stats.derived_samples += len(batch)
        return batch

    async def run(self, subscription: Subscription,
                  publish_event: Callable[[Event], Awaitable[None]],
                  publish_samples: Callable[[SampleBatch], Awaitable[None]], *,
                  tick_s: float = 1.0, clock: Callable[[], int] = now_ns) -> EfficiencyStats:
        """Consume `subscription` (durable) until the bus closes."""
        outbox: asyncio.Queue[Event | SampleBatch | None] = asyncio.Queue()
        async with asyncio.TaskGroup() as group:
            group.create_task(self._deliver(outbox, publish_event, publish_samples))
            try:
                await self._consume(subscription, outbox, tick_s, clock)
            finally:
                outbox.put_nowait(None)
        return self.stats

    async def _consume(self, subscription: Subscription,
                       outbox: asyncio.Queue[Event | SampleBatch | None], tick_s: float,
                       clock: Callable[[], int]) -> None:
        while True:
            try:
                message = await asyncio.wait_for(subscription.get(), tick_s)
            except TimeoutError:
                events = self.tick(clock())
            else:
                if message is None:
                    return
                events = self.update(message) if isinstance(message, SampleBatch) else []
            for event in events:
                outbox.put_nowait(event)
            derived = self.take_derived()
            if len(derived):
                outbox.put_nowait(derived)

    async def _deliver(self, outbox: asyncio.Queue[Event | SampleBatch | None],
                       publish_event: Callable[[Event], Awaitable[None]],
                       publish_samples: Callable[[SampleBatch], Awaitable[None]]) -> None:
        lost_samples = 0
        while (item := await outbox.get()) is not None:
            try:
                if isinstance(item, SampleBatch):
                    await publish_samples(item)
                else:
                    await publish_event(item)
            except BusClosedError:
                if isinstance(item, SampleBatch):
                    lost_samples += len(item)
                else:
                    self.stats.unpublished.append(item)
        if lost_samples:
            # derived values are recomputable from the stored history (`isthmus oee`)
            log.warning("efficiency analytics: %d derived samples found the bus closed",
                        lost_samples)
