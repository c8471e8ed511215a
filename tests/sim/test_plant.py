"""The plant's physics: deterministic under a seed, coupled where the process is."""

from __future__ import annotations

import numpy as np
import pytest

from isthmus.config.schema import RegisterTable, SiteConfig
from isthmus.sim import Plant, PlantConfigError
from isthmus.sim.models import FillerState

T = "acme/lyon/"
MOTOR = T + "packaging/line1/conveyor/motor/"
FILLER = T + "packaging/line1/filler/filler/"
TANK = T + "utilities/water/storage/tank/"
PUMP = T + "utilities/water/pumping/pump/"
METER = T + "utilities/power/main/meter/"


def registers(plant: Plant) -> list[np.ndarray]:
    return [unit.image.tables[table].copy() for unit in plant.units()
            for table in RegisterTable]


def test_same_seed_same_ticks_give_identical_registers(example_site: SiteConfig) -> None:
    first, second = Plant(example_site, seed=42), Plant(example_site, seed=42)
    for _ in range(300):
        first.step(10.0)
        second.step(10.0)
    for a, b in zip(registers(first), registers(second), strict=True):
        np.testing.assert_array_equal(a, b)


def test_another_seed_gives_other_values(example_site: SiteConfig) -> None:
    first, second = Plant(example_site, seed=1), Plant(example_site, seed=2)
    first.step(100.0)
    second.step(100.0)
    assert first.value(FILLER + "fill_weight") != second.value(FILLER + "fill_weight")


def test_large_steps_are_sub_stepped_and_stay_physical(example_site: SiteConfig) -> None:
    plant = Plant(example_site, seed=3)
    plant.step(86400.0)
    assert plant.sim_time_s == 86400.0
    assert 0.0 <= plant.value(TANK + "level") <= 5.0
    assert plant.value(MOTOR + "speed") == pytest.approx(1480.0, abs=10.0) or \
        plant.value(MOTOR + "fault") == 1.0


def test_motor_ramps_up_from_standstill(example_site: SiteConfig) -> None:
    plant = Plant(example_site, seed=3)
    assert plant.value(MOTOR + "speed") == 0.0
    plant.step(1.0)
    partway = plant.value(MOTOR + "speed")
    plant.step(30.0)
    assert 0.0 < partway < plant.value(MOTOR + "speed")


def test_filler_counts_bottles_only_while_the_conveyor_runs(example_site: SiteConfig) -> None:
    plant = Plant(example_site, seed=4)
    plant.step(600.0)
    made = plant.value(FILLER + "good_count") + plant.value(FILLER + "reject_count")
    assert made > 500
    plant.unit("line1-plc", 1).write(RegisterTable.COIL, 0, [0])
    plant.step(60.0)
    stopped = plant.value(FILLER + "good_count")
    plant.step(600.0)
    assert plant.value(FILLER + "good_count") == stopped
    assert plant.value(FILLER + "state") in (FillerState.IDLE, FillerState.FAULT)


def test_filler_rejects_fills_outside_tolerance(example_site: SiteConfig) -> None:
    plant = Plant(example_site, seed=4)
    plant.step(3600.0)
    good, rejected = plant.value(FILLER + "good_count"), plant.value(FILLER + "reject_count")
    assert 0 < rejected < 0.05 * good     # σ 1.8 g against ±5 g: about 1 % rejected
    plant.unit("line1-plc", 2).write(RegisterTable.HOLDING_REGISTER, 1, [10])  # ±1 g
    plant.step(3600.0)
    assert plant.value(FILLER + "reject_count") - rejected > \
        plant.value(FILLER + "good_count") - good


def test_pump_fills_the_tank_and_stops_near_full(example_site: SiteConfig) -> None:
    plant = Plant(example_site, seed=5)
    plant.unit("utilities-plc", 2).write(RegisterTable.COIL, 1, [0])   # outlet closed
    levels = []
    for _ in range(60):
        plant.step(120.0)
        levels.append(plant.value(TANK + "level_pct"))
    assert levels[0] < levels[10] < 91.0
    assert plant.value(PUMP + "running") == 0.0
    assert plant.value(PUMP + "flow") < 1.0


def test_meter_adds_up_the_loads_and_integrates_energy(example_site: SiteConfig) -> None:
    plant = Plant(example_site, seed=6)
    start = plant.value(METER + "kwh")
    powers = []
    for _ in range(360):
        plant.step(10.0)
        powers.append(plant.value(METER + "kw"))
    loads = sum(m.power_kw for m in plant.world.models if m.name != "power_meter")
    assert plant.value(METER + "kw") > loads > 0
    assert plant.value(METER + "kwh") - start == pytest.approx(np.mean(powers), rel=0.05)


def test_bearing_vibration_trends_up_over_weeks(example_site: SiteConfig) -> None:
    plant = Plant(example_site, seed=7)
    plant.step(3600.0)
    early = plant.value(MOTOR + "bearing_vibration")
    for _ in range(3 * 7 * 24):
        plant.step(3600.0)
    assert plant.value(MOTOR + "bearing_vibration") > early + 1.0
    assert plant.value(MOTOR + "run_hours") > 300


def test_a_model_without_the_signal_is_a_clear_error(example_site: SiteConfig) -> None:
    data = example_site.model_dump(mode="json")
    data["devices"][0]["units"][0]["tags"] = {"torque": {"address": 40, "type": "int16"}}
    site = SiteConfig.model_validate(data)
    with pytest.raises(PlantConfigError, match=r"line1-plc unit 1 .*no signal 'torque'"):
        Plant(site)


def test_an_unknown_model_is_a_clear_error(example_site: SiteConfig) -> None:
    data = example_site.model_dump(mode="json")
    data["devices"][0]["units"][0]["simulate"] = "conveyor"
    with pytest.raises(PlantConfigError, match=r"unknown model 'conveyor'.*conveyor_motor"):
        Plant(SiteConfig.model_validate(data))
