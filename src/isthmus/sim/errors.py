"""The simulator's exceptions, one tree.

    SimulatorError
    ├── ScenarioError        a scenario file is unreadable, invalid, or targets nothing
    ├── PlantConfigError     the site file asks for a model or signal the simulator lacks
    ├── EndpointBindError    a device's host:port cannot be listened on
    └── UnmappedAddressError a request touches an address the site file does not define
"""

from __future__ import annotations

__all__ = [
    "EndpointBindError",
    "PlantConfigError",
    "ScenarioError",
    "SimulatorError",
    "UnmappedAddressError",
]


class SimulatorError(Exception):
    """Base of every error the simulator raises on purpose."""


class ScenarioError(SimulatorError, ValueError):
    """A scenario file cannot be used; the message names the file, the fault and why."""


class PlantConfigError(SimulatorError, ValueError):
    """The site file cannot be simulated: unknown model, or a signal the model lacks."""


class EndpointBindError(SimulatorError, OSError):
    """Listening on a device's host:port failed (address in use, not local, …)."""


class UnmappedAddressError(SimulatorError, LookupError):
    """A Modbus request touched an address no point of the unit defines."""
