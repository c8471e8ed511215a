"""The simulated plant: one physics model and one register image per simulated unit of the
site file, advanced together in simulated time, with the scenario's faults applied.

The plant knows nothing of sockets; `SimulatorServer` serves its registers over Modbus/TCP.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from isthmus.config.schema import ModbusDeviceConfig, PointConfig, RegisterTable, SiteConfig
from isthmus.sim.errors import PlantConfigError, ScenarioError
from isthmus.sim.faults import SensorFault, Targets, wear_factor
from isthmus.sim.image import RegisterImage
from isthmus.sim.models import MODELS, AssetModel, ModelContext, World
from isthmus.sim.program import DeviceChanges
from isthmus.sim.scenario import BearingWear, CommLoss, FirmwareChange, ProgramChange, Scenario

__all__ = ["Plant", "SimDevice", "SimUnit"]


@dataclass
class SimUnit:
    """One simulated Modbus unit: its model, its registers, the faults on its signals."""

    device: str
    unit_id: int
    asset_path: str
    signals: tuple[str, ...]
    tag_paths: tuple[str, ...]
    model: AssetModel
    image: RegisterImage
    sensor_faults: list[SensorFault] = field(default_factory=list)
    wear_faults: list[BearingWear] = field(default_factory=list)
    published: npt.NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))

    def publish(self, t_prev: float, t_now: float) -> None:
        values = self.model.values()
        for fault in self.sensor_faults:
            i = fault.signal_index
            values[i] = fault.apply(float(values[i]), t_prev, t_now)
        self.published = values
        self.image.publish(values)

    def read(self, table: RegisterTable, start: int, count: int) -> npt.NDArray[np.uint16]:
        return self.image.read(table, start, count)

    def write(self, table: RegisterTable, start: int, values: Sequence[int]) -> None:
        """A client's write: store it, then tell the model the new value of each point."""
        for index in self.image.write(table, start, values):
            self.model.command(self.signals[index], self.image.engineering(index))


@dataclass
class SimDevice:
    name: str
    host: str
    port: int
    units: dict[int, SimUnit]


class Plant:
    """Every simulated unit of `site` (those with `simulate:`), deterministic under `seed`."""

    def __init__(self, site: SiteConfig, *, seed: int = 0, scenario: Scenario | None = None,
                 strict_addresses: bool = True) -> None:
        self.site = site
        self.seed = seed
        self.scenario = scenario
        self.devices: dict[str, SimDevice] = {}
        for device in site.devices:
            units = {u.unit_id: self._build_unit(device, u.unit_id, strict_addresses)
                     for u in device.units if u.simulate is not None}
            if units:
                self.devices[device.name] = SimDevice(device.name, device.host, device.port,
                                                      units)
        models = sorted((u.model for u in self.units()), key=lambda m: m.stage)
        self.world = World(models)
        self._max_step = min((m.max_step_s for m in models), default=math.inf)
        self._comm_faults: list[tuple[CommLoss, str, int | None]] = []
        self.changes = DeviceChanges({d.name: d for d in site.devices},
                                     f"{site.enterprise}/{site.site}/")
        if scenario is not None:
            self._attach(scenario)
        self._time_s = 0.0
        self._by_path = {path: (unit, i) for unit in self.units()
                         for i, path in enumerate(unit.tag_paths)}
        for unit in self.units():
            unit.publish(0.0, 0.0)

    def _build_unit(self, device: ModbusDeviceConfig, unit_id: int,
                    strict_addresses: bool) -> SimUnit:
        unit = next(u for u in device.units if u.unit_id == unit_id)
        where = f"device {device.name} unit {unit_id} ({unit.path})"
        model_class = MODELS.get(unit.simulate or "")
        if model_class is None:
            raise PlantConfigError(f"{where}: unknown model {unit.simulate!r}; models: "
                                   f"{', '.join(sorted(MODELS))}")
        points: dict[str, PointConfig] = self.site.unit_points(device, unit)
        rng = np.random.default_rng([self.seed, zlib.crc32(f"{device.name}/{unit_id}".encode())])
        try:
            model = model_class(ModelContext(unit.path, points, rng))
        except PlantConfigError as exc:
            raise PlantConfigError(f"{where}: {exc}") from exc
        return SimUnit(device.name, unit_id, unit.path, tuple(points),
                       tuple(self.site.tag_path(unit, s) for s in points), model,
                       RegisterImage(list(points.values()), strict_addresses=strict_addresses))

    def _attach(self, scenario: Scenario) -> None:
        targets = self._targets()
        for index, fault in enumerate(scenario.faults):
            if isinstance(fault, CommLoss):
                self._comm_faults.append((fault, *targets.unit_or_device(index, fault)))
            elif isinstance(fault, FirmwareChange | ProgramChange):
                self.changes.attach(index, fault)
            elif isinstance(fault, BearingWear):
                device, unit_id = targets.asset(index, fault)
                unit = self.devices[device].units[unit_id]
                if not hasattr(unit.model, "wear"):
                    raise ScenarioError(f"faults[{index}] (bearing_wear): {fault.target} is "
                                        f"simulated by {unit.model.name!r}, which has no "
                                        f"bearing to wear")
                unit.wear_faults.append(fault)
            else:
                device, unit_id, signal = targets.signal(index, fault)
                rng = np.random.default_rng([self.seed, 0x5CE7A, index])
                self.devices[device].units[unit_id].sensor_faults.append(
                    SensorFault(fault, signal, rng))

    def _targets(self) -> Targets:
        signals: dict[str, tuple[str, int, int]] = {}
        assets: dict[str, tuple[str, int]] = {}
        for unit in self.units():
            assets[unit.asset_path] = (unit.device, unit.unit_id)
            for i, signal in enumerate(unit.signals):
                signals[f"{unit.asset_path}/{signal}"] = (unit.device, unit.unit_id, i)
        return Targets(f"{self.site.enterprise}/{self.site.site}/", signals, assets,
                       set(self.devices))

    @property
    def sim_time_s(self) -> float:
        """Simulated seconds since the start."""
        return self._time_s

    def units(self) -> Iterator[SimUnit]:
        for device in self.devices.values():
            yield from device.units.values()

    def step(self, dt_s: float) -> None:
        """Advance simulated time by `dt_s`, in sub-steps short enough for every model,
        then publish the new values into the registers."""
        if dt_s < 0 or not math.isfinite(dt_s):
            raise ValueError(f"step of {dt_s} s: a step must be finite and not negative")
        t_prev = self._time_s
        count = max(1, math.ceil(dt_s / self._max_step)) if dt_s > 0 else 0
        for k in range(1, count + 1):
            now = t_prev + dt_s * k / count
            self.world.time_s = now
            for unit in self.units():
                if unit.wear_faults:
                    unit.model.wear_factor = wear_factor(unit.wear_faults, now)
            for model in self.world.models:
                model.advance(dt_s / count, self.world)
        self._time_s = t_prev + dt_s
        for unit in self.units():
            unit.publish(t_prev, self._time_s)

    def unit(self, device: str, unit_id: int) -> SimUnit:
        try:
            return self.devices[device].units[unit_id]
        except KeyError:
            raise KeyError(f"no simulated unit {unit_id} on device {device!r}") from None

    def value(self, tag_path: str) -> float:
        """The last published value of a tag (engineering units, faults included)."""
        if tag_path not in self._by_path:
            raise KeyError(f"tag {tag_path!r} is not simulated by this plant")
        unit, index = self._by_path[tag_path]
        return float(unit.published[index])

    def silent(self, device: str, unit_id: int) -> bool:
        """Whether a comm_loss fault keeps this unit from answering now."""
        return any(f.active(self._time_s) and d == device and u in (None, unit_id)
                   for f, d, u in self._comm_faults)

    def identity_overrides(self, device: str) -> dict[int, str]:
        """FC 43 identification objects a scenario has changed on `device` by now."""
        return self.changes.identity_overrides(device, self._time_s)

    def configuration_reply(self, device: str, unit_id: int, pdu: bytes) -> bytes | None:
        """The answer to a read of `device`'s program checksum register, if `pdu` is one."""
        return self.changes.reply(device, unit_id, pdu, self._time_s)

    def disconnected(self, device: str) -> bool:
        """Whether a disconnect fault has this device's listener closed now."""
        return any(f.mode == "disconnect" and d == device and f.active(self._time_s)
                   for f, d, _ in self._comm_faults)
