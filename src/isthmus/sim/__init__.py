"""Plant simulator: physics models of a packaging line and its utilities, served over
Modbus/TCP from the same site file the gateway reads, with scripted faults."""

from __future__ import annotations

from isthmus.sim.errors import (
    EndpointBindError,
    PlantConfigError,
    ScenarioError,
    SimulatorError,
    UnmappedAddressError,
)
from isthmus.sim.models import MODELS
from isthmus.sim.plant import Plant, SimDevice, SimUnit
from isthmus.sim.scenario import Scenario, load_scenario, parse_scenario, shipped_scenarios
from isthmus.sim.server import ServerStats, SimulatorServer
from isthmus.sim.synthetic import synthetic_site

__all__ = [
    "MODELS",
    "EndpointBindError",
    "Plant",
    "PlantConfigError",
    "Scenario",
    "ScenarioError",
    "ServerStats",
    "SimDevice",
    "SimUnit",
    "SimulatorError",
    "SimulatorServer",
    "UnmappedAddressError",
    "load_scenario",
    "parse_scenario",
    "shipped_scenarios",
    "synthetic_site",
]
