"""Energy (ISO 50001) on scripted meter readings, every figure computed by hand below."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from isthmus.analytics.energy import EnergyMonitor, energy_derived_tags, fit_baseline
from isthmus.model import EventKind, TagRegistry
from tests.analytics.efficiency_site import METER, PREFIX, T0, S, batch, registry_of, site_with

KWH, KW, TEMP = f"{METER}/kwh", f"{METER}/kw", f"{METER}/temperature"
STATE, GOOD = f"{PREFIX}/state", f"{PREFIX}/good_count"
LINE = "acme/lyon/packaging/line1/energy/interval"


def rig(**meter: Any) -> tuple[EnergyMonitor, TagRegistry]:
    config = {"name": "packaging/line1", "kwh": KWH, "production": [GOOD], **meter}
    site = site_with(energy={"meters": [config]})
    registry = registry_of(site, energy_derived_tags(site))
    return EnergyMonitor(site, registry), registry


def derived(monitor: EnergyMonitor, registry: TagRegistry) -> dict[tuple[str, int], float]:
    return {(registry.tag(i).signal, (t - T0) // S): v
            for i, t, v, _ in monitor.derived.take().rows()}


def test_demand_per_unit_and_idle_energy_per_interval() -> None:
    # interval 0: 30 kWh → 120 kW, 600 bottles → 0.05 kWh/bottle, producing throughout
    # interval 1: 15 kWh → 60 kW, stopped at 900 s → all 15 kWh idle, no bottles
    energy, registry = rig(state=STATE, peak_limit_kw=100)
    events = energy.update(batch(registry, [
        (STATE, 0, 1), (KWH, 0, 1000), (GOOD, 10, 0), (KWH, 300, 1010), (KWH, 600, 1020),
        (GOOD, 890, 600), (STATE, 900, 0), (KWH, 900, 1030), (KWH, 1200, 1035),
        (KWH, 1500, 1040), (KWH, 1800, 1045)]))
    values = derived(energy, registry)
    assert values[("kwh", 0)] == pytest.approx(30)
    assert values[("demand_kw", 0)] == pytest.approx(120)
    assert values[("units", 0)] == 600
    assert values[("kwh_per_unit", 0)] == pytest.approx(0.05)
    assert values[("idle_kwh", 0)] == 0
    assert values[("demand_kw", 900)] == pytest.approx(60)
    assert values[("idle_kwh", 900)] == pytest.approx(15)
    assert ("kwh_per_unit", 900) not in values  # nothing produced
    (peak,) = events
    assert peak.kind == EventKind.ALARM and peak.source == "energy"
    assert peak.data["energy"]["demand_kw"] == pytest.approx(120)
    assert peak.ts == T0 + 900 * S


def test_a_reading_across_a_boundary_is_split_by_time() -> None:
    # 12 kWh between 600 s and 1200 s: half in each interval
    energy, registry = rig()
    energy.update(batch(registry, [(KWH, 600, 1000), (KWH, 1200, 1012), (KWH, 1800, 1012)]))
    values = derived(energy, registry)
    assert (values[("kwh", 0)], values[("kwh", 900)]) == (pytest.approx(6), pytest.approx(6))


def test_energy_from_a_kw_tag_is_integrated() -> None:
    # 40 kW for 450 s = 5 kWh, then 80 kW for 450 s = 10 kWh → 15 kWh, 60 kW demand
    energy, registry = rig(kwh=None, kw=KW)
    energy.update(batch(registry, [(KW, 0, 40), (KW, 450, 80), (KW, 900, 80)]))
    values = derived(energy, registry)
    assert values[("kwh", 0)] == pytest.approx(15)
    assert values[("demand_kw", 0)] == pytest.approx(60)


BASELINE = {"start": "2023-11-15T00:00:00Z", "end": "2023-11-15T00:45:00Z"}
# baseline intervals (units, kWh): (0, 10) (100, 20) (200, 30) → kWh = 10 + 0.1 × units;
# interval 3: 100 units, 25 kWh against 20 expected → EnPI 1.25
READINGS = [(KWH, 0, 0), (GOOD, 450, 0), (KWH, 900, 10), (GOOD, 1350, 100),
            (KWH, 1800, 30), (GOOD, 2250, 300), (KWH, 2700, 60), (GOOD, 3150, 400),
            (KWH, 3600, 85)]


def test_enpi_against_the_baseline_regression() -> None:
    energy, registry = rig(baseline=BASELINE)
    energy.update(batch(registry, READINGS))
    model = energy.meters[0].model
    assert model is not None
    assert (model.intercept, model.per_unit) == (pytest.approx(10), pytest.approx(0.1))
    values = derived(energy, registry)
    assert values[("expected_kwh", 2700)] == pytest.approx(20)
    assert values[("enpi", 2700)] == pytest.approx(1.25)
    assert ("enpi", 1800) not in values  # baseline intervals have no expectation


def test_a_day_sums_its_complete_intervals() -> None:
    energy, registry = rig(baseline=BASELINE)
    energy.update(batch(registry, READINGS))
    energy.finish()
    (day,) = energy.days
    assert (day.kwh, day.units) == (pytest.approx(85), 400)
    assert day.idle_kwh == pytest.approx(10)  # interval 0 produced nothing
    assert (day.peak_kw, day.peak_at_ns) == (pytest.approx(120), T0 + 1800 * S)
    assert day.enpi == pytest.approx(1.25)
    assert day.kwh_per_unit == pytest.approx(85 / 400)


def test_baseline_with_a_relevant_variable() -> None:
    # kWh = 5 + 0.1 × units + 2 × temperature, exactly
    model = fit_baseline([5, 15, 7, 17, 26], [0, 100, 0, 100, 150], [0, 0, 1, 1, 3])
    assert (model.intercept, model.per_unit, model.per_variable) == (
        pytest.approx(5), pytest.approx(0.1), pytest.approx(2))
    assert model.r2 == pytest.approx(1)
    assert model.expected(50, 2) == pytest.approx(14)


def test_a_baseline_with_too_few_intervals_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 3 baseline intervals, got 2"):
        fit_baseline([1, 2], [0, 1])


@given(st.lists(st.tuples(st.integers(1, 2000), st.floats(0, 50)), min_size=2, max_size=30))
def test_interval_energy_adds_up_to_the_counter_increase(
        steps: list[tuple[int, float]]) -> None:
    energy, registry = rig()
    t, kwh, rows = 0, 1000.0, [(KWH, 0.0, 1000.0)]
    for dt, used in steps:
        t, kwh = t + dt, kwh + used
        rows.append((KWH, float(t), kwh))
    energy.update(batch(registry, rows))
    energy.tick(T0 + (t + 3600) * S)  # close every interval
    total = sum(v for (signal, _), v in derived(energy, registry).items() if signal == "kwh")
    assert total == pytest.approx(kwh - 1000.0, abs=1e-6)
