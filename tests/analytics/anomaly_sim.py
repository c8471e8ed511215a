"""Drive the example plant in simulated time through an anomaly engine: a scenario with a known
fault time in, the detection delay and the false events out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from isthmus.analytics.anomaly.engine import AnomalyEngine, anomaly_derived_tags
from isthmus.config.schema import SiteConfig
from isthmus.model import EventKind, SampleBatch, TagRegistry
from isthmus.sim import Plant, parse_scenario

S = 1_000_000_000
T0 = 1_700_006_400 * S  # 2023-11-15T00:00:00Z, a Wednesday


@dataclass
class Outcome:
    raised_s: list[float]  # simulated seconds of every raised anomaly event
    fault_s: float
    scores: int  # derived score samples produced

    @property
    def false_events(self) -> int:
        return sum(1 for t in self.raised_s if t < self.fault_s)

    @property
    def delay_s(self) -> float | None:
        after = [t - self.fault_s for t in self.raised_s if t >= self.fault_s]
        return min(after) if after else None


def run_scenario(site: SiteConfig, groups: list[dict[str, Any]], fault: str, *,
                 fault_s: float, hours: float, step_s: float = 10.0, seed: int = 3) -> Outcome:
    configured = SiteConfig.model_validate(
        {**site.model_dump(mode="json", by_alias=True), "analytics": {"anomaly": groups}})
    tags = [*configured.tags(), *anomaly_derived_tags(configured)]
    registry = TagRegistry(enumerate(tags))
    engine = AnomalyEngine(configured, registry)
    plant = Plant(configured, seed=seed, scenario=parse_scenario(f"name: t\nfaults: [{fault}]"))
    watched = sorted({p for g in engine.groups for p in g.paths})
    raised: list[float] = []
    scores = 0
    for _ in range(round(hours * 3600 / step_s)):
        plant.step(step_s)
        ts = T0 + round(plant.sim_time_s * S)
        batch = SampleBatch.of([registry.id_of(p) for p in watched], [ts] * len(watched),
                               [plant.value(p) for p in watched])
        for event in engine.update(batch):
            if event.kind == EventKind.ALARM and event.data.get("active"):
                raised.append((event.ts - T0) / S)
        scores += len(engine.derived.take())
    return Outcome(raised_s=raised, fault_s=fault_s, scores=scores)
