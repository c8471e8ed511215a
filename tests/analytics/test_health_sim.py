"""The health engine on the example plant's conveyor, driven in simulated time: with the
bearing-wear scenario the RUL converges toward the true time the vibration reaches the trip
level and the event comes well before it; a healthy run raises nothing. Run with `-s` to
see the figures (docs/analytics.md quotes them)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
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


def _errors(run: Run, earliest_h: float, latest_h: float) -> list[float]:
    """|estimate − true RUL|, h, of every estimate made between `earliest_h` and `latest_h`
    hours before the crossing."""
    assert run.crossed_h is not None
    return [abs(rul - (run.crossed_h - now))
            for now, rul, _, _ in run.estimates
            if latest_h <= run.crossed_h - now <= earliest_h]


def test_rul_converges_toward_the_true_crossing(wear: Run) -> None:
    assert wear.crossed_h is not None
    for before in (48, 36, 24, 12, 6, 3, 1):
        at = wear.crossed_h - before
        now_h, rul, low, high = min(wear.estimates, key=lambda e: abs(e[0] - at))
        truth = wear.crossed_h - now_h
        print(f"at {now_h:5.1f} h, true RUL {truth:5.1f} h: estimate {rul:6.1f} h (interval "
              f"{low:.1f}–{high:.1f}), error {rul - truth:+.1f} h")
    inside = [low <= wear.crossed_h - now <= high for now, _, low, high in wear.estimates
              if 3 <= wear.crossed_h - now <= 24]
    far, near = np.median(_errors(wear, 24, 18)), np.median(_errors(wear, 6, 3))
    print(f"median |error| 18–24 h out {far:.1f} h, 3–6 h out {near:.1f} h; the interval "
          f"holds the truth in {np.mean(inside):.0%} of the estimates 3–24 h out")
    assert far < 0.25 * 18 and near < 0.25 * 3  # within a quarter of the remaining life
    assert near < far


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
    settled = [rul for now, rul, _, _ in run.estimates if now > 12.0]  # a full window
    print(f"healthy run: lowest RUL once the window is full {min(settled):.0f} h")
    assert min(settled) > 10 * 24.0
