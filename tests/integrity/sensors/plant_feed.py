"""Drive the simulated plant in simulated time and feed what a gateway would read (values
quantised by each point's register encoding) to a sensor-integrity engine, in batches."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from isthmus.config.schema import SiteConfig
from isthmus.integrity.sensors import IntegrityConfig, SensorIntegrityEngine
from isthmus.model import DataType, Event, SampleBatch, TagRegistry
from isthmus.sim import Plant
from isthmus.sim.scenario import Scenario

EPOCH_NS = 1_767_225_600 * 10**9     # 2026-01-01T00:00Z: simulated time 0


@dataclass
class Run:
    events: list[Event] = field(default_factory=list)
    engine: SensorIntegrityEngine | None = None

    def of(self, tag_suffix: str) -> list[Event]:
        return [e for e in self.events if (e.tag or "").endswith(tag_suffix)]

    def kinds(self, tag_suffix: str) -> set[str]:
        return {str(e.data["integrity.kind"]) for e in self.of(tag_suffix)}

    def first(self, tag_suffix: str, kind: str) -> Event | None:
        hits = [e for e in self.of(tag_suffix) if e.data["integrity.kind"] == kind]
        return min(hits, key=lambda e: e.ts) if hits else None


class _NoRegisters:
    """Stands in for a unit's register image when nothing reads the registers: the plant's
    published values are what these tests feed (encoding them costs most of a step)."""

    def publish(self, values: npt.NDArray[np.float64]) -> None:
        pass


def ns(t_s: float) -> int:
    return EPOCH_NS + round(t_s * 1e9)


def _tag_ids(site: SiteConfig, plant: Plant) -> tuple[TagRegistry, npt.NDArray[np.int32]]:
    """A registry of the site's tags, and the id of every simulated signal in plant order."""
    registry = TagRegistry()
    for tag in site.tags():
        registry.intern(tag)
    ids = [registry.id_of(path) for unit in plant.units() for path in unit.tag_paths]
    return registry, np.array(ids, np.int32)


def _encodings(site: SiteConfig, plant: Plant) -> tuple[npt.NDArray[np.float64], ...]:
    """Per simulated signal: scale, offset, whether integer-encoded, whether float32."""
    scale, offset, integer, single = [], [], [], []
    for unit in plant.units():
        device = next(d for d in site.devices if d.name == unit.device)
        config = next(u for u in device.units if u.unit_id == unit.unit_id)
        for point in site.unit_points(device, config).values():
            scale.append(point.scale)
            offset.append(point.offset)
            integer.append(point.type not in (DataType.FLOAT32, DataType.FLOAT64))
            single.append(point.type == DataType.FLOAT32)
    return (np.array(scale), np.array(offset), np.array(integer, float), np.array(single, float))


def read_like_gateway(values: npt.NDArray[np.float64],
                      enc: tuple[npt.NDArray[np.float64], ...]) -> npt.NDArray[np.float64]:
    scale, offset, integer, single = enc
    raw = (values - offset) / scale
    quantised = np.where(integer > 0, np.round(raw) * scale + offset, values)
    return np.where(single > 0, quantised.astype(np.float32).astype(np.float64), quantised)


def run_plant(site: SiteConfig, config: IntegrityConfig, *, hours: float,
              scenario: Scenario | None = None, seed: int = 3, step_s: float = 1.0,
              chunk_s: float = 900.0) -> Run:
    """Simulate `hours` at one sample per `step_s` for every tag, feeding the engine a
    batch every `chunk_s` of simulated time; returns the events it raised."""
    plant = Plant(site, seed=seed, scenario=scenario)
    for unit in plant.units():
        unit.image = _NoRegisters()      # type: ignore[assignment]  # values only: no socket
    registry, tag_ids = _tag_ids(site, plant)
    enc = _encodings(site, plant)
    engine = SensorIntegrityEngine(config, registry, prefix=f"{site.enterprise}/{site.site}")
    run = Run(engine=engine)
    per_chunk = round(chunk_s / step_s)
    steps = round(hours * 3600 / step_s)
    for first in range(0, steps, per_chunk):
        count = min(per_chunk, steps - first)
        rows = np.empty((count, len(tag_ids)))
        times = np.empty(count, np.int64)
        for k in range(count):
            plant.step(step_s)
            rows[k] = np.concatenate([u.published for u in plant.units()])
            times[k] = ns(plant.sim_time_s)
        rows = read_like_gateway(rows, enc)
        batch = SampleBatch.of(np.tile(tag_ids, count), np.repeat(times, len(tag_ids)),
                               rows.ravel())
        run.events += engine.update(batch)
    return run
