"""Fixtures for the sensor-integrity tests: the example plant with its `integrity:` section,
and one run of the labelled `sensor-tamper` scenario shared by the detection tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from isthmus.config import load_site
from isthmus.config.schema import SiteConfig
from isthmus.sim.scenario import Scenario, load_scenario
from tests.integrity.sensors.plant_feed import Run, run_plant

EXAMPLE = Path(__file__).parents[3] / "examples" / "packaging-plant.yaml"
#: simulated hours of the tamper run: the 12 h learning period, then every fault
TAMPER_HOURS = 24.5


@pytest.fixture(scope="session")
def plant_site() -> SiteConfig:
    return load_site(EXAMPLE)


@pytest.fixture(scope="session")
def tamper_scenario() -> Scenario:
    return load_scenario("sensor-tamper")


@pytest.fixture(scope="session")
def tamper_run(plant_site: SiteConfig, tamper_scenario: Scenario) -> Run:
    assert plant_site.integrity is not None
    return run_plant(plant_site, plant_site.integrity, hours=TAMPER_HOURS,
                     scenario=tamper_scenario, seed=3, step_s=1.0)
