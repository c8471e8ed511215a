"""Bottle filler: fills only while the line's conveyor runs; each fill weight is drawn from
N(setpoint + slow valve bias, sigma), out-of-tolerance fills are rejected; random short
stops put it in fault for a minute or two."""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping

from isthmus.sim.models.base import AssetModel, ModelContext, World, ornstein_uhlenbeck
from isthmus.sim.models.conveyor import NOMINAL_RPM, ConveyorMotor

__all__ = ["Filler", "FillerState"]

_RATE_PER_S = 2.0          # bottles per second at nominal conveyor speed
_SIGMA_G = 1.8             # fill process noise
_STOP_RATE = 1.0 / 1800.0  # short stops: one per half hour running
_COUNTER_WRAP = 2**32      # uint32 counters roll over like the PLC's


class FillerState(enum.IntEnum):
    IDLE = 0
    RUNNING = 1
    FAULT = 2


class Filler(AssetModel):
    name = "filler"
    provides = frozenset({"fill_weight", "good_count", "reject_count", "state", "setpoint",
                          "tolerance", "rate"})
    stage = 1

    def __init__(self, ctx: ModelContext) -> None:
        super().__init__(ctx)
        self.setpoint = 500.0
        self.tolerance = 5.0
        self.state = FillerState.IDLE
        self._fault_until = 0.0
        self.good = 0
        self.rejects = 0
        self.bias = 0.0
        self.last_weight = self.setpoint
        self.rate = 0.0

    @property
    def power_kw(self) -> float:
        return 1.6 if self.state == FillerState.RUNNING else 0.3

    def advance(self, dt_s: float, world: World) -> None:
        conveyor = world.nearest(ConveyorMotor, self.asset_path)
        speed_frac = 1.0 if conveyor is None else conveyor.speed / NOMINAL_RPM
        self._next_state(dt_s, world.time_s, fed=speed_frac > 0.5)
        self.bias = ornstein_uhlenbeck(self.bias, 0.0, theta=1 / 3600, sigma=0.02,
                                       dt_s=dt_s, rng=self.rng)
        if self.state != FillerState.RUNNING:
            self.rate = 0.0
            return
        count = int(self.rng.poisson(_RATE_PER_S * speed_frac * dt_s))
        if dt_s > 0:  # bottles/min smoothed over ~10 s, as a filler's HMI shows it
            alpha = -math.expm1(-dt_s / 10.0)
            self.rate += alpha * (60.0 * count / dt_s - self.rate)
        if count == 0:
            return
        weights = self.rng.normal(self.setpoint + self.bias, _SIGMA_G, count)
        bad = int(((weights - self.setpoint) > self.tolerance).sum()
                  + ((self.setpoint - weights) > self.tolerance).sum())
        self.good = (self.good + count - bad) % _COUNTER_WRAP
        self.rejects = (self.rejects + bad) % _COUNTER_WRAP
        self.last_weight = float(weights[-1])

    def _next_state(self, dt_s: float, now_s: float, *, fed: bool) -> None:
        if self.state == FillerState.FAULT:
            if now_s < self._fault_until:
                return
            self.state = FillerState.IDLE
        self.state = FillerState.RUNNING if fed else FillerState.IDLE
        if self.state == FillerState.RUNNING and \
                self.rng.random() < -math.expm1(-_STOP_RATE * dt_s):
            self.state = FillerState.FAULT
            self._fault_until = now_s + 20.0 + float(self.rng.exponential(70.0))

    def read(self) -> Mapping[str, float]:
        return {"fill_weight": self.last_weight, "good_count": float(self.good),
                "reject_count": float(self.rejects), "state": float(self.state),
                "setpoint": self.setpoint, "tolerance": self.tolerance, "rate": self.rate}

    def command(self, signal: str, value: float) -> None:
        if signal == "setpoint":
            self.setpoint = min(max(value, 0.0), 1000.0)
        elif signal == "tolerance":
            self.tolerance = min(max(value, 0.0), 100.0)
