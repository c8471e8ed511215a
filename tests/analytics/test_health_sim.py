"""The health engine on the example plant's conveyor, driven in simulated time: with the
bearing-wear scenario the RUL converges toward the true time the vibration reaches the trip
level and the event comes well before it; a healthy run raises nothing. Run with `-s` to
see the figures (docs/analytics.md quotes them)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from isthmus.analytics.health import HealthEngine, health_derived_tags
from isthmus.config import load_site
from isthmus.model import Event, SampleBatch, TagRegistry
from isthmus.sim import Plant, parse_scenario

ROOT = Path(__file__).parents[2]
EXAMPLE = ROOT / "examples" / "packaging-plant.yaml"
WEAR = ROOT / "src" / "isthmus" / "sim" / "scenarios" / "bearing-wear.yaml"
S = 1_000_000_000
T0 = 1_700_006_400 * S
STEP_S = 30.0


@dataclass
class Run:
    estimates: list[tuple[float, float, float, float]] = field(default_factory=list)  # h
    events: list[Event] = field(default_factory=list)
    crossed_h: float | None = None


def drive(scenario: str, *, hours: float, seed: int = 3) -> Run:
    """Step the plant; stop when the vibration first exceeds the failure level."""
    site = load_site(EXAMPLE)
    registry = TagRegistry(enumerate([*site.tags(), *health_derived_tags(site)]))
    engine = HealthEngine(site, registry)
    (asset,) = engine.assets
    watched = [p for p in (asset.degradation_path, asset.running_path, *asset.signals) if p]
    ids = [registry.id_of(p) for p in watched]
    plant = Plant(site, seed=seed, scenario=parse_scenario(scenario))
    run = Run()
    for _ in range(round(hours * 3600 / STEP_S)):
        plant.step(STEP_S)
        now_h = plant.sim_time_s / 3600
        values = [plant.value(p) for p in watched]
        ts = T0 + round(plant.sim_time_s * S)
        run.events += engine.update(SampleBatch.of(ids, [ts] * len(ids), values))
        engine.derived.take()
        if values[0] > asset.threshold:
            run.crossed_h = now_h
            break
        latest = asset.latest
        if latest is not None and latest.ts == ts - ts % (600 * S) and latest.fit:
            rul = latest.rul_hours()
            assert rul is not None
            run.estimates.append((now_h, *rul))
    return run


@pytest.fixture(scope="module")
def wear() -> Run:
    return drive(WEAR.read_text(), hours=5 * 24)


def test_rul_converges_toward_the_true_crossing(wear: Run) -> None:
    assert wear.crossed_h is not None
    rows = []
    for before in (36, 24, 12, 6, 3, 1):
        at = wear.crossed_h - before
        now_h, rul, low, high = min(wear.estimates, key=lambda e: abs(e[0] - at))
        truth = wear.crossed_h - now_h
        rows.append((truth, rul, low, high))
        print(f"true RUL {truth:5.1f} h: estimate {rul:6.1f} h (interval {low:.1f}–{high:.1f}),"
              f" error {rul - truth:+.1f} h")
    errors = [abs(rul - truth) / truth for truth, rul, _, _ in rows]
    assert all(e < 0.3 for e in errors[1:])  # within 30 % from a day out
    assert errors[-1] < 0.5 or abs(rows[-1][1] - rows[-1][0]) < 0.5


def test_event_comes_before_the_trip_level_is_reached(wear: Run) -> None:
    assert wear.crossed_h is not None
    (event,) = wear.events
    raised_h = (event.ts - T0) / S / 3600
    print(f"event at {raised_h:.1f} h, {wear.crossed_h - raised_h:.1f} h before the vibration "
          f"reached 11 mm/s at {wear.crossed_h:.1f} h: {event.message}")
    assert 12.0 < wear.crossed_h - raised_h < 48.0
    assert event.data["health"]["rul_hours"] < 24.0


def test_no_event_on_a_healthy_run() -> None:
    run = drive("name: healthy\nfaults: []", hours=4 * 24)
    assert run.crossed_h is None and run.events == []
    assert min(rul for _, rul, _, _ in run.estimates[10:]) > 24.0 * 10
