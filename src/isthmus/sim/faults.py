"""Scenario faults at run time: resolving each fault's target in the plant, and applying
sensor faults to published values."""

from __future__ import annotations

import bisect
import difflib
import math
from dataclasses import dataclass, field

import numpy as np

from isthmus.sim.errors import ScenarioError
from isthmus.sim.scenario import (
    BearingWear,
    Bias,
    CommLoss,
    Drift,
    Fault,
    Noise,
    Replay,
    Smooth,
    Spike,
    Stuck,
)

__all__ = ["SensorFault", "Targets", "sensor_value"]


@dataclass
class SensorFault:
    """A fault on one signal of one unit, with the little state it needs."""

    fault: Stuck | Drift | Spike | Noise | Replay | Bias | Smooth
    signal_index: int
    rng: np.random.Generator
    frozen: float | None = field(default=None)
    #: (time, value) published during a replay fault's recording window
    recording: list[tuple[float, float]] = field(default_factory=list)

    def apply(self, value: float, t_prev: float, t_now: float) -> float:
        if isinstance(self.fault, Replay):
            record_for_replay(self, value, t_now)
        if not sensor_active(self.fault, t_prev, t_now):
            self.frozen = None
            return value
        return sensor_value(self, value, t_now)


def sensor_active(fault: Fault, t_prev: float, t_now: float) -> bool:
    """Whether `fault` shows in the values published at `t_now` (the last publish was at
    `t_prev`). A spike shows while its window covers `t_now`, and also if it began after
    the last publish, so that no spike is lost between two publishes at high speed-ups."""
    if not isinstance(fault, Spike):
        return fault.active(t_now)
    if t_now < fault.start:
        return False
    occurrence = fault.start
    if fault.every is not None:
        occurrence += math.floor((t_now - fault.start) / fault.every) * fault.every
    if fault.duration is not None and occurrence >= fault.start + fault.duration:
        return False
    return occurrence + fault.width > t_now or occurrence > t_prev


def sensor_value(state: SensorFault, value: float, t_now: float) -> float:
    fault = state.fault
    if isinstance(fault, Stuck):
        if state.frozen is None:
            state.frozen = value if fault.value is None else fault.value
        return state.frozen
    if isinstance(fault, Drift):
        return value + fault.rate_per_hour * (t_now - fault.start) / 3600.0
    if isinstance(fault, Spike):
        return value + fault.magnitude
    if isinstance(fault, Bias):
        return value + fault.offset
    if isinstance(fault, Replay):
        return replayed(state, value, t_now)
    if isinstance(fault, Smooth):
        return smoothed(state, value, t_now)
    return value + fault.sigma * float(state.rng.standard_normal())


def smoothed(state: SensorFault, value: float, t_now: float) -> float:
    """The slow average of the reading since the fault began (kept in `frozen`)."""
    fault = state.fault
    assert isinstance(fault, Smooth)
    if state.frozen is None or not state.recording:
        state.frozen, state.recording = value, [(t_now, value)]
        return value
    dt = t_now - state.recording[-1][0]
    state.frozen += (1.0 - math.exp(-dt / fault.tau)) * (value - state.frozen)
    state.recording[-1] = (t_now, state.frozen)
    return state.frozen


def record_for_replay(state: SensorFault, value: float, t_now: float) -> None:
    fault = state.fault
    assert isinstance(fault, Replay)
    if fault.source_start <= t_now < fault.source_start + fault.length:
        state.recording.append((t_now, value))


def replayed(state: SensorFault, value: float, t_now: float) -> float:
    """The recorded value at the same point of the loop (the live value if nothing was
    recorded, e.g. a plant stepped past the recording window in one step)."""
    fault = state.fault
    assert isinstance(fault, Replay)
    if not state.recording:
        return value
    position = fault.source_start + (t_now - fault.start) % fault.length
    times = [t for t, _ in state.recording]
    i = max(0, bisect.bisect_right(times, position + 1e-9) - 1)
    return state.recording[i][1]


class Targets:
    """Names a fault may target: tag paths, asset paths and device names."""

    def __init__(self, prefix: str, signals: dict[str, tuple[str, int, int]],
                 assets: dict[str, tuple[str, int]], devices: set[str]) -> None:
        self.prefix = prefix              # "enterprise/site/"
        self.signals = signals            # "area/line/cell/asset/signal" -> (device, unit, i)
        self.assets = assets              # "area/line/cell/asset" -> (device, unit)
        self.devices = devices

    def _relative(self, target: str) -> str:
        return target.removeprefix(self.prefix).strip("/")

    def signal(self, index: int, fault: Fault) -> tuple[str, int, int]:
        name = self._relative(fault.target)
        if name in self.signals:
            return self.signals[name]
        raise self._unknown(index, fault, "a tag path", list(self.signals))

    def asset(self, index: int, fault: Fault) -> tuple[str, int]:
        name = self._relative(fault.target)
        if name in self.assets:
            return self.assets[name]
        raise self._unknown(index, fault, "an asset path", list(self.assets))

    def unit_or_device(self, index: int, fault: CommLoss) -> tuple[str, int | None]:
        name = self._relative(fault.target)
        if name in self.devices:
            return name, None
        if fault.mode == "disconnect":
            raise self._unknown(index, fault, "a device name (disconnect closes a device's "
                                "listener)", sorted(self.devices))
        if name in self.assets:
            return self.assets[name]
        raise self._unknown(index, fault, "a device name or an asset path",
                            [*sorted(self.devices), *self.assets])

    def _unknown(self, index: int, fault: Fault, wanted: str,
                 known: list[str]) -> ScenarioError:
        close = difflib.get_close_matches(self._relative(fault.target), known, n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        return ScenarioError(f"faults[{index}] ({fault.kind}): target {fault.target!r} is not "
                             f"{wanted} of this site{hint}")


def wear_factor(faults: list[BearingWear], t_s: float) -> float:
    factor = 1.0
    for fault in faults:
        if fault.active(t_s):
            factor *= fault.factor
    return factor
