"""The efficiency analytics as a bus consumer: derived OEE tags and energy peak events are
published back onto the bus, and the consumer ends when the bus closes."""

from __future__ import annotations

import asyncio

from isthmus.analytics.efficiency import EfficiencyAnalytics, efficiency_derived_tags
from isthmus.bus import Bus
from isthmus.model import Event, SampleBatch
from tests.analytics.efficiency_site import METER, T0, batch, registry_of, site_with
from tests.analytics.test_oee import LINE, SCENARIO, SHIFTS


async def test_derived_samples_and_events_go_back_onto_the_bus() -> None:
    meter = {"name": "site/main", "kwh": f"{METER}/kwh", "peak_limit_kw": 10}
    site = site_with(shifts=SHIFTS, oee={"lines": [LINE]}, energy={"meters": [meter]})
    registry = registry_of(site, efficiency_derived_tags(site))
    bus = Bus()
    analytics = EfficiencyAnalytics(site, registry)
    task = asyncio.create_task(analytics.run(bus.subscribe("efficiency", durable=True),
                                             bus.publish, bus.publish))
    seen = bus.subscribe("observer", durable=True, maxsize=10_000)
    await bus.publish(batch(registry, [*SCENARIO, (f"{METER}/kwh", 0, 100),
                                       (f"{METER}/kwh", 900, 110)]))
    derived_ids = {registry.id_of(t.path) for t in efficiency_derived_tags(site)}
    received: list[Event | SampleBatch] = []

    def is_derived(message: Event | SampleBatch) -> bool:
        return isinstance(message, SampleBatch) and bool(derived_ids & set(message.tag_id))

    async with asyncio.timeout(10):
        while not (any(isinstance(m, Event) for m in received)
                   and any(map(is_derived, received))):
            message = await seen.get()
            assert message is not None
            received.append(message)
    await bus.close()
    stats = await task
    derived = SampleBatch.concat([m for m in received if is_derived(m)])
    paths = {registry.tag(int(i)).path for i in derived.tag_id}
    assert "acme/lyon/packaging/line1/oee/shift/oee" in paths
    assert "acme/lyon/site/main/energy/interval/demand_kw" in paths
    (peak,) = [m for m in received if isinstance(m, Event)]
    assert peak.source == "energy" and peak.ts == T0 + 900 * 10**9
    assert stats.unpublished == []
