"""Scenario files: validation, targets, and the faults they inject."""

from __future__ import annotations

from pathlib import Path

import pytest

from isthmus.config.schema import SiteConfig
from isthmus.sim import Plant, ScenarioError, load_scenario, parse_scenario, shipped_scenarios
from isthmus.sim.scenario import parse_duration

T = "acme/lyon/"
LEVEL = T + "utilities/water/storage/tank/level"
KW = T + "utilities/power/main/meter/kw"


@pytest.mark.parametrize(("text", "seconds"), [
    (45, 45.0), ("90s", 90.0), ("15m", 900.0), ("2h", 7200.0), ("3d", 259200.0),
    ("1w", 604800.0), ("1d12h", 129600.0), ("500ms", 0.5), ("1.5h", 5400.0)])
def test_durations(text: object, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["2 hours", "h", "-5", "3x", "", "1h-5m"])
def test_bad_durations_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match=r"not a duration|negative"):
        parse_duration(text if text != "-5" else -5)


def test_shipped_scenarios_load_and_resolve_on_the_example(example_site: SiteConfig) -> None:
    assert {"bearing-wear", "sensor-faults"} <= set(shipped_scenarios())
    for name in shipped_scenarios():
        scenario = load_scenario(name)
        assert scenario.faults
        Plant(example_site, scenario=scenario)


def test_a_scenario_file_by_path(tmp_path: Path) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text("name: mine\nfaults:\n  - {kind: noise, target: a/b/c/d/e, sigma: 1}\n")
    assert load_scenario(path).faults[0].kind == "noise"


def test_unknown_key_is_an_error_naming_the_fault() -> None:
    with pytest.raises(ScenarioError, match=r"faults\.0\.stuck\.colour: Extra inputs"):
        parse_scenario("name: x\nfaults: [{kind: stuck, target: a, colour: red}]")


def test_unknown_kind_is_an_error() -> None:
    with pytest.raises(ScenarioError, match=r"faults\.0.*bearing_wear.*comm_loss"):
        parse_scenario("name: x\nfaults: [{kind: meltdown, target: a}]")


def test_bad_duration_in_a_file_is_an_error_naming_the_field() -> None:
    with pytest.raises(ScenarioError, match=r"faults\.0\.drift\.start: .*not a duration"):
        parse_scenario("name: x\nfaults: [{kind: drift, target: a, start: soon, "
                       "rate_per_hour: 1}]")


def test_missing_scenario_lists_the_shipped_ones() -> None:
    with pytest.raises(ScenarioError, match="bearing-wear, sensor-faults"):
        load_scenario("no-such-scenario")


def test_unknown_target_suggests_a_close_one(example_site: SiteConfig) -> None:
    scenario = parse_scenario("name: x\nfaults: [{kind: stuck, "
                              "target: utilities/water/storage/tank/levle}]")
    with pytest.raises(ScenarioError, match=r"faults\[0\].*did you mean .*tank/level"):
        Plant(example_site, scenario=scenario)


def test_bearing_wear_needs_a_bearing(example_site: SiteConfig) -> None:
    scenario = parse_scenario("name: x\nfaults: [{kind: bearing_wear, "
                              "target: acme/lyon/utilities/water/storage/tank}]")
    with pytest.raises(ScenarioError, match="no bearing to wear"):
        Plant(example_site, scenario=scenario)


def _run(site: SiteConfig, fault: str, steps: int, dt: float = 60.0) -> list[float]:
    plant = Plant(site, seed=9, scenario=parse_scenario(f"name: t\nfaults: [{fault}]"))
    out = []
    for _ in range(steps):
        plant.step(dt)
        out.append(plant.value(LEVEL))
    return out


def test_stuck_sensor_freezes_then_recovers(example_site: SiteConfig) -> None:
    values = _run(example_site, f"{{kind: stuck, target: {LEVEL}, start: 10m, "
                  "duration: 20m}", 40)
    assert len(set(values[9:29])) == 1
    assert values[30] != values[9]


def test_drift_grows_linearly(example_site: SiteConfig) -> None:
    clean = _run(example_site, f"{{kind: noise, target: {KW}, sigma: 1, start: 99d}}", 120)
    drifted = _run(example_site, f"{{kind: drift, target: {LEVEL}, rate_per_hour: 0.5}}",
                   120)
    offsets = [d - c for d, c in zip(drifted, clean, strict=True)]
    assert offsets[59] == pytest.approx(0.5, abs=1e-9)
    assert offsets[119] == pytest.approx(1.0, abs=1e-9)


def test_repeated_spikes_show_even_between_slow_publishes(example_site: SiteConfig) -> None:
    base = _run(example_site, f"{{kind: noise, target: {KW}, sigma: 1, start: 99d}}", 60)
    spiked = _run(example_site, f"{{kind: spike, target: {LEVEL}, start: 5m, every: 10m, "
                  "width: 1s, magnitude: 100}", 60)
    hits = [i for i, (s, b) in enumerate(zip(spiked, base, strict=True)) if s != b]
    assert hits == list(range(4, 60, 10))


def test_noise_adds_variance(example_site: SiteConfig) -> None:
    plant = Plant(example_site, seed=9, scenario=parse_scenario(
        f"name: t\nfaults: [{{kind: noise, target: {KW}, sigma: 5, start: 0}}]"))
    quiet = Plant(example_site, seed=9)
    diffs = []
    for _ in range(200):
        plant.step(1.0)
        quiet.step(1.0)
        diffs.append(plant.value(KW) - quiet.value(KW))
    assert 3.5 < float(__import__("numpy").std(diffs)) < 6.5


def test_bearing_wear_fault_accelerates_the_trend(example_site: SiteConfig) -> None:
    motor = T + "packaging/line1/conveyor/motor/bearing_vibration"
    worn = Plant(example_site, seed=8, scenario=load_scenario("bearing-wear"))
    normal = Plant(example_site, seed=8)
    for _ in range(48):
        worn.step(3600.0)
        normal.step(3600.0)
    assert worn.value(motor) > normal.value(motor) + 1.0
