"""Learning from a stored clean period (`learn: {from, to}`) instead of the first hours of
live data: the engine judges from its first live batch."""

from __future__ import annotations

import numpy as np

from isthmus.integrity.sensors import IntegrityConfig, SensorIntegrityEngine, learn_stored
from isthmus.model import SampleBatch, Tag, TagRegistry
from tests.integrity.sensors.synthetic import S, noise

PATH = "acme/test/area/line/cell/pump/pressure"
HOUR = 3600


def stored(registry: TagRegistry, hours: int) -> dict[str, SampleBatch]:
    x = noise(hours * HOUR, level=4.0, sigma=0.05, seed=9)
    t = np.arange(len(x), dtype=np.int64) * S
    return {PATH: SampleBatch.of(np.full(len(x), registry.id_of(PATH)), t, x)}


def test_engine_learns_from_a_stored_period_then_judges_live_data() -> None:
    registry = TagRegistry()
    tag_id = registry.intern(Tag(PATH))
    history = stored(registry, 2)

    def read_raw(path: str, start: int, end: int) -> SampleBatch:
        batch = history[path]
        return batch.take((batch.ts >= start) & (batch.ts < end))

    config = IntegrityConfig.model_validate(
        {"learn": {"from": "1970-01-01T00:00:00Z", "to": "1970-01-01T02:00:00Z"}})
    engine = SensorIntegrityEngine(config, registry, prefix="acme/test")
    assert learn_stored(engine, read_raw, 0, 2 * HOUR * S) == 2 * HOUR
    assert not engine.learning
    live = noise(600, level=4.0, sigma=0.05, seed=10)
    live[300] += 3.0
    t = (np.arange(600, dtype=np.int64) + 3 * HOUR) * S
    events = engine.update(SampleBatch.of(np.full(600, tag_id), t, live))
    assert [e.data["integrity.kind"] for e in events] == ["spike"]
    assert events[0].data["since"] == int(t[300])
