"""The health engine on scripted data: health index from ISO 10816 zones and other signals,
RUL written as derived tags at each step, one event per crossing of the horizon, the running
gate, the anomaly score, bounded memory, the site file section and the bus."""

from __future__ import annotations

import asyncio
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pydantic import ValidationError

from isthmus.analytics.anomaly.engine import anomaly_derived_tags
from isthmus.analytics.health import (
    ISO10816_ZONES,
    HealthEngine,
    HealthScale,
    health_derived_tags,
)
from isthmus.analytics.health.assessment import anomaly_health
from isthmus.bus import Bus
from isthmus.config import load_site
from isthmus.config.health import Iso10816Class
from isthmus.config.schema import SiteConfig
from isthmus.model import Event, EventKind, Quality, SampleBatch, Severity, TagRegistry

EXAMPLE = Path(__file__).parents[2] / "examples" / "packaging-plant.yaml"
MOTOR = "acme/lyon/packaging/line1/conveyor/motor"
S = 1_000_000_000
MINUTE = 60 * S
T0 = 1_700_006_400 * S


def site_with(*, anomaly: list[dict[str, Any]] | None = None, **degradation: Any) -> SiteConfig:
    base = load_site(EXAMPLE).model_dump(mode="json", by_alias=True)
    asset = {"asset": "packaging/line1/conveyor/motor",
             "degradation": {"tag": "bearing_vibration", "iso10816": "III", "threshold": 11.0,
                             "healthy": 1.0, "window": "2h", "resolution": "10m",
                             "horizon": "6h", **degradation},
             "signals": [{"tag": "bearing_temperature", "healthy": 40, "limit": 90}]}
    if anomaly:
        asset["anomaly"] = anomaly[0]["name"]
        base["analytics"] = {"anomaly": anomaly}
    base["health"] = {"assets": [asset]}
    return SiteConfig.model_validate(base)


def engine_for(site: SiteConfig) -> tuple[HealthEngine, TagRegistry]:
    registry = TagRegistry(enumerate([*site.tags(), *anomaly_derived_tags(site),
                                      *health_derived_tags(site)]))
    return HealthEngine(site, registry), registry


def minutes(registry: TagRegistry, start: int, stop: int, level: Any,
            signal: str = "bearing_vibration", quality: Quality = Quality.GOOD) -> SampleBatch:
    """One sample a minute of `signal` from minute `start` to `stop`, value level(minute)."""
    m = np.arange(start, stop)
    return SampleBatch.of([registry.id_of(f"{MOTOR}/{signal}")] * m.size, T0 + m * MINUTE,
                          [float(level(x)) for x in m], [quality] * m.size)


def test_zone_boundaries_map_to_their_documented_health() -> None:
    zones = ISO10816_ZONES[Iso10816Class.III]
    scale = HealthScale.iso10816(zones, healthy=1.0, failure=14.0)
    assert [scale(v) for v in (1.0, zones.ab, zones.bc, zones.cd, 14.0, 20.0)] == \
        [100.0, 90.0, 70.0, 30.0, 0.0, 0.0]


def test_a_failure_level_below_zone_d_drops_that_boundary() -> None:
    scale = HealthScale.iso10816(ISO10816_ZONES[Iso10816Class.III], healthy=1.0, failure=11.0)
    assert scale.levels == (1.0, 1.8, 4.5, 11.0) and scale(11.0) == 0.0


def test_a_falling_signal_loses_health_as_it_falls() -> None:
    scale = HealthScale.linear(healthy=50.0, limit=10.0)
    assert (scale(50.0), scale(30.0), scale(5.0)) == (100.0, 50.0, 0.0)


def test_anomaly_health_is_half_at_the_threshold() -> None:
    assert [anomaly_health(s, 8.0) for s in (1.0, 4.0, 8.0, 16.0)] == [100, 100, 50, 0]


def test_rising_vibration_writes_health_and_rul_each_step_and_one_event() -> None:
    site = site_with()
    engine, registry = engine_for(site)
    events = engine.update(minutes(registry, 0, 600, lambda m: 1.5 + m / 60))  # +1 mm/s/h
    derived = engine.derived.take()
    paths = {registry.tag(i).path for i in derived.tag_id.tolist()}
    assert paths == {f"{MOTOR}/health_{n}" for n in ("index", "rul_hours", "rul_low",
                                                     "rul_high")}
    index = derived.value[derived.tag_id == registry.id_of(f"{MOTOR}/health_index")]
    assert index.size == 59 and np.all(np.diff(index) <= 0)  # one per closed 10-min step
    (event,) = events  # the RUL keeps falling: one event, not one per step
    assert event.kind == EventKind.ALARM and event.source == "health"
    evidence = event.data["health"]
    assert evidence["rul_hours"] < 6.0 and evidence["threshold"] == 11.0
    assert evidence["model"] == "linear"
    assert evidence["slope_per_hour"] == pytest.approx(1.0, rel=0.02)
    # crossing the 6 h horizon means the level then is about 11 − 6 = 5 mm/s
    assert (event.ts - T0) / MINUTE == pytest.approx(60 * 3.5, abs=15)
    assert event.severity == Severity.MEDIUM


def test_an_asset_already_near_failure_is_critical() -> None:
    engine, registry = engine_for(site_with())
    (event,) = engine.update(minutes(registry, 0, 70, lambda m: 10.0 + m / 60))
    assert event.severity == Severity.CRITICAL


def test_event_rearms_only_after_the_rul_recovers_past_the_horizon() -> None:
    engine, registry = engine_for(site_with())
    rising = engine.update(minutes(registry, 0, 300, lambda m: 1.5 + m / 60))
    flat = engine.update(minutes(registry, 300, 1000, lambda m: 3.0))  # a new bearing
    again = engine.update(minutes(registry, 1000, 1400, lambda m: 3.0 + (m - 1000) / 60))
    assert (len(rising), len(flat), len(again)) == (1, 0, 1)


def test_stopped_machine_readings_stay_out_of_the_trend() -> None:
    engine, registry = engine_for(site_with(running="running"))
    running = registry.id_of(f"{MOTOR}/running")
    engine.update(SampleBatch.of([running], [T0], [0.0]))
    engine.update(minutes(registry, 0, 120, lambda m: 5.0))
    assert engine.status() == [None]
    engine.update(SampleBatch.of([running], [T0 + 120 * MINUTE], [1.0]))
    engine.update(minutes(registry, 121, 200, lambda m: 2.0))
    health = engine.status()[0]
    assert health is not None and health.level == 2.0


def test_bad_quality_samples_are_ignored() -> None:
    engine, registry = engine_for(site_with())
    engine.update(minutes(registry, 0, 30, lambda m: 9.0, quality=Quality.BAD))
    engine.update(minutes(registry, 30, 50, lambda m: 2.0))
    health = engine.status()[0]
    assert health is not None and health.level == 2.0


def test_the_worst_signal_sets_the_index() -> None:
    engine, registry = engine_for(site_with())
    engine.update(minutes(registry, 0, 30, lambda m: 65.0, signal="bearing_temperature"))
    engine.update(minutes(registry, 0, 30, lambda m: 1.5))
    health = engine.status()[0]
    assert health is not None
    assert health.worst == "bearing_temperature" and health.index == 50.0  # 65 in 40…90


def test_anomaly_score_lowers_health_once_its_threshold_is_known() -> None:
    group = {"name": "conveyor", "method": "robust_z", "train": {"samples": 10},
             "tags": ["packaging/line1/conveyor/motor/current",
                      "packaging/line1/conveyor/motor/load"]}
    engine, registry = engine_for(site_with(anomaly=[group]))
    score = registry.id_of(f"{MOTOR}/conveyor_anomaly_score")
    engine.observe(Event(T0, EventKind.SYSTEM, Severity.INFO, "trained", source="anomaly",
                         data={"anomaly": "conveyor", "threshold": 6.0}))
    engine.update(SampleBatch.of([score], [T0], [9.0]))
    engine.update(minutes(registry, 0, 30, lambda m: 1.5))
    health = engine.status()[0]
    assert health is not None
    assert health.worst == "anomaly:conveyor" and health.index == 25.0


def test_history_is_bounded_by_the_window() -> None:
    engine, registry = engine_for(site_with())
    for hour in range(48):
        engine.update(minutes(registry, 60 * hour, 60 * (hour + 1), lambda m: 1.5))
    assert len(engine.assets[0].history) == 12  # 2 h of 10-minute steps


@pytest.mark.parametrize(("degradation", "message"), [
    ({"iso10816": None, "threshold": None}, "give `threshold` or `iso10816`"),
    ({"window": "30m"}, "at least 6 `resolution` steps"),
    ({"tag": "bearing_vibraton"}, "did you mean"),
    ({"model": "learned"}, "needs `model_file` and `sensors`"),
    ({"model": "magic"}, "'trend' or 'learned'"),
])
def test_site_file_mistakes_are_named(degradation: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        site_with(**degradation)


def test_unknown_anomaly_group_is_named() -> None:
    base = load_site(EXAMPLE).model_dump(mode="json", by_alias=True)
    base["health"] = {"assets": [{"asset": "packaging/line1/conveyor/motor", "anomaly": "nope",
                                  "degradation": {"tag": "bearing_vibration", "threshold": 9}}]}
    with pytest.raises(ValidationError, match="unknown anomaly group 'nope'"):
        SiteConfig.model_validate(base)


def test_the_example_plant_watches_the_conveyor_bearing() -> None:
    site = load_site(EXAMPLE)
    (asset,) = site.health.assets
    assert asset.degradation.tag == "bearing_vibration"
    assert math.isclose(asset.degradation.horizon, 86400.0)


async def test_figures_and_events_go_back_onto_the_bus() -> None:
    engine, registry = engine_for(site_with())
    bus = Bus()
    task = asyncio.create_task(engine.run(bus.subscribe("health", durable=True),
                                          bus.publish, bus.publish))
    seen = bus.subscribe("observer", durable=True, maxsize=10_000)
    index = registry.id_of(f"{MOTOR}/health_index")
    for hour in range(6):
        await bus.publish(minutes(registry, 60 * hour, 60 * (hour + 1), lambda m: 2 + m / 60))
    received: list[Event | SampleBatch] = []
    async with asyncio.timeout(10):
        while not any(isinstance(m, Event) for m in received):
            message = await seen.get()
            assert message is not None
            received.append(message)
    await bus.close()
    stats = await task
    figures = [m for m in received if isinstance(m, SampleBatch) and index in m.tag_id]
    assert figures and stats.events == 1 and not stats.unpublished
