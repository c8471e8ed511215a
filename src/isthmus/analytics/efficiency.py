"""The efficiency analytics of a site as one bus consumer: SPC, OEE and energy see each batch
once, in order; their events and derived tags (capability per shift, OEE per shift and day,
energy per demand interval) are published back through a separate task so that publishing
can never wait on this consumer's own full queue."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from isthmus.analytics.energy import EnergyMonitor, energy_derived_tags
from isthmus.analytics.oee import OeeMonitor, oee_derived_tags
from isthmus.analytics.spc import SpcMonitor, spc_derived_tags
from isthmus.analytics.streaming import Outgoing, consume
from isthmus.bus import Message, Subscription
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
        delivered = await consume(subscription, self._on_message, publish_event,
                                  publish_samples, unpublished=self.stats.unpublished,
                                  on_tick=self._on_tick, tick_s=tick_s, clock=clock)
        if delivered.lost_samples:
            # derived values are recomputable from the stored history (`isthmus oee`)
            log.warning("efficiency analytics: %d derived samples found the bus closed",
                        delivered.lost_samples)
        return self.stats

    def _on_message(self, message: Message) -> list[Outgoing]:
        return self._with_derived(self.update(message) if isinstance(message, SampleBatch)
                                  else [])

    def _on_tick(self, now: int) -> list[Outgoing]:
        return self._with_derived(self.tick(now))

    def _with_derived(self, events: list[Event]) -> list[Outgoing]:
        out: list[Outgoing] = list(events)
        derived = self.take_derived()
        if len(derived):
            out.append(derived)
        return out
