"""Conveyor drive motor: speed ramps, load-dependent current, and a bearing that wears out
over simulated weeks (vibration and temperature climb until the motor trips and the
bearing is replaced)."""

from __future__ import annotations

import math
from collections.abc import Mapping

from isthmus.sim.models.base import AssetModel, ModelContext, World, lag, ornstein_uhlenbeck

__all__ = ["ConveyorMotor"]

NOMINAL_RPM = 1480.0
_WEEK_S = 7 * 86400.0
# wear w grows as dw/dt = rate·(1 + ACCEL·w): exponential, so the trend is slow for weeks
# then steepens. RATE is set so that w reaches 0.5 after 4 weeks of running.
_ACCEL = 1.5
_RATE = math.log(1.0 + _ACCEL * 0.5) / (_ACCEL * 4 * _WEEK_S)
_TRIP_VIBRATION = 11.0          # mm/s: ISO 10816 zone D for a small machine
_REPAIR_S = 4 * 3600.0          # maintenance replaces the bearing after a wear trip
_TRIP_RATE = 1.0 / (2 * 86400)  # random electrical trips: one per two running days


class ConveyorMotor(AssetModel):
    name = "conveyor_motor"
    provides = frozenset({"speed", "current", "bearing_vibration", "bearing_temperature",
                          "running", "fault", "run_hours", "load"})
    stage = 0

    def __init__(self, ctx: ModelContext) -> None:
        super().__init__(ctx)
        self.commanded = True
        self.fault = False
        self._fault_until = 0.0
        self._repair = False
        self.speed = 0.0
        self.load = 0.6
        self.wear = float(self.rng.uniform(0.0, 0.05))
        self.temperature = 22.0
        self.run_s = 0.0
        self._measured: dict[str, float] = {}
        self._measure(0.0)

    @property
    def running(self) -> bool:
        return self.commanded and not self.fault

    @property
    def power_kw(self) -> float:
        return math.sqrt(3) * 0.4 * self._measured["current"] * 0.85

    def advance(self, dt_s: float, world: World) -> None:
        self._trips(dt_s, world.time_s)
        self.speed = lag(self.speed, NOMINAL_RPM if self.running else 0.0, dt_s, 3.0)
        self.load = min(1.0, max(0.2, ornstein_uhlenbeck(
            self.load, 0.6, theta=1 / 120, sigma=0.01, dt_s=dt_s, rng=self.rng)))
        if self.running:
            growth = math.exp(_ACCEL * _RATE * self.wear_factor * dt_s)
            self.wear = ((1.0 + _ACCEL * self.wear) * growth - 1.0) / _ACCEL
            self.run_s += dt_s
        frac = self.speed / NOMINAL_RPM
        ambient = 22.0 + 4.0 * math.sin(2 * math.pi * world.time_s / 86400.0)
        hot = ambient + 25.0 * self.load * frac + 12.0 * self.wear * frac
        self.temperature = lag(self.temperature, hot, dt_s, 1200.0)
        self._measure(frac)

    def _trips(self, dt_s: float, now_s: float) -> None:
        if self.fault:
            if now_s >= self._fault_until:
                self.fault = False
                if self._repair:            # new bearing fitted
                    self.wear = float(self.rng.uniform(0.0, 0.05))
                    self._repair = False
            return
        if not self.running:
            return
        if self._measured.get("bearing_vibration", 0.0) > _TRIP_VIBRATION:
            self.fault, self._repair = True, True
            self._fault_until = now_s + _REPAIR_S
        elif self.rng.random() < -math.expm1(-_TRIP_RATE * dt_s):
            self.fault = True
            self._fault_until = now_s + 60.0 + float(self.rng.exponential(240.0))

    def _measure(self, frac: float) -> None:
        noise = self.rng.standard_normal(4)
        turning = frac > 0.01
        self._measured = {
            "speed": max(0.0, self.speed + (2.0 * noise[0] if turning else 0.0)),
            "current": max(0.0, (3.5 + 8.5 * self.load) * frac + 0.05 * noise[1] * turning),
            "bearing_vibration": max(0.02, (1.0 + 0.5 * self.load + 4.0 * self.wear) * frac
                                     + 0.05 * noise[2]),
            "bearing_temperature": self.temperature + 0.1 * noise[3],
            "running": float(self.running),
            "fault": float(self.fault),
            "run_hours": self.run_s / 3600.0,
            "load": 100.0 * self.load * (frac > 0.01),
        }

    def read(self) -> Mapping[str, float]:
        return self._measured

    def command(self, signal: str, value: float) -> None:
        if signal == "running":
            self.commanded = bool(value)
