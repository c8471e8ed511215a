"""Water utility: a centrifugal pump filling a storage tank that a demand draws from.

The pump runs on the tank level (start below 35 %, stop above 90 %, like the PLC's logic);
its flow sits where the pump curve meets the system curve, whose static head rises with
the tank level. The tank integrates inflow minus demand (a daily pattern plus noise).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from isthmus.sim.models.base import AssetModel, ModelContext, World, lag, ornstein_uhlenbeck

__all__ = ["Pump", "Tank"]

_SHUTOFF_HEAD_M = 55.0
_PUMP_K = 0.006         # m per (m3/h)^2, pump curve
_SYSTEM_K = 0.004       # m per (m3/h)^2, pipe losses
_STATIC_HEAD_M = 20.0   # tank inlet above the pump, plus the water level
_EFFICIENCY = 0.7
_START_PCT, _STOP_PCT = 35.0, 90.0


class Pump(AssetModel):
    name = "pump"
    provides = frozenset({"flow", "pressure", "running", "power", "speed"})
    stage = 0

    def __init__(self, ctx: ModelContext) -> None:
        super().__init__(ctx)
        self.commanded = True
        self.spin = 0.0           # fraction of nominal speed
        self.flow = 0.0           # m3/h
        self.head = 0.0           # m
        self._noise = (0.0, 0.0)

    @property
    def power_kw(self) -> float:
        hydraulic = 1000 * 9.81 * (self.flow / 3600.0) * self.head / 1000.0
        return hydraulic / _EFFICIENCY + (0.4 if self.spin > 0.01 else 0.0)

    def advance(self, dt_s: float, world: World) -> None:
        tank = world.nearest(Tank, self.asset_path)
        level_m = 0.0
        if tank is not None:
            level_m = tank.level
            if tank.level_pct < _START_PCT:
                self.commanded = True
            elif tank.level_pct > _STOP_PCT:
                self.commanded = False
        self.spin = lag(self.spin, 1.0 if self.commanded else 0.0, dt_s, 2.0)
        shutoff = _SHUTOFF_HEAD_M * self.spin**2          # affinity law
        excess = shutoff - (_STATIC_HEAD_M + level_m)
        self.flow = math.sqrt(excess / (_PUMP_K + _SYSTEM_K)) if excess > 0 else 0.0
        self.head = shutoff - _PUMP_K * self.flow**2
        noise = self.rng.standard_normal(2)
        self._noise = (0.3 * float(noise[0]), 0.02 * float(noise[1]))

    def read(self) -> Mapping[str, float]:
        on = self.spin > 0.01
        return {"flow": max(0.0, self.flow + self._noise[0] * on),
                "pressure": max(0.0, self.head * 0.0981 + self._noise[1] * on),
                "running": float(self.commanded), "power": self.power_kw,
                "speed": 100.0 * self.spin}

    def command(self, signal: str, value: float) -> None:
        if signal == "running":
            self.commanded = bool(value)


class Tank(AssetModel):
    name = "tank"
    provides = frozenset({"level", "level_pct", "net_flow", "demand", "inlet_valve",
                          "outlet_valve", "high_level", "low_level", "level_2"})
    stage = 1
    AREA_M2 = 20.0
    HEIGHT_M = 5.0

    def __init__(self, ctx: ModelContext) -> None:
        super().__init__(ctx)
        self.level = float(self.rng.uniform(2.0, 3.0))
        self.inlet_open = True
        self.outlet_open = True
        self.demand = 35.0
        self.net_flow = 0.0

    @property
    def level_pct(self) -> float:
        return 100.0 * self.level / self.HEIGHT_M

    def advance(self, dt_s: float, world: World) -> None:
        pump = world.nearest(Pump, self.asset_path)
        inflow = pump.flow if pump is not None and self.inlet_open else 0.0
        daily = 35.0 * (1.0 + 0.3 * math.sin(2 * math.pi * (world.time_s / 86400.0 - 0.25)))
        self.demand = max(0.0, ornstein_uhlenbeck(self.demand, daily, theta=1 / 600,
                                                  sigma=0.15, dt_s=dt_s, rng=self.rng))
        outflow = self.demand if self.outlet_open and self.level > 0.05 else 0.0
        self.net_flow = inflow - outflow
        self.level += self.net_flow / 3600.0 * dt_s / self.AREA_M2
        self.level = min(max(self.level, 0.0), self.HEIGHT_M)

    def read(self) -> Mapping[str, float]:
        # level_2: a second, redundant transmitter on the same tank (its own encoding)
        return {"level": self.level, "level_2": self.level, "level_pct": self.level_pct,
                "net_flow": self.net_flow,
                "demand": self.demand, "inlet_valve": float(self.inlet_open),
                "outlet_valve": float(self.outlet_open),
                "high_level": float(self.level_pct > 95.0),
                "low_level": float(self.level_pct < 10.0)}

    def command(self, signal: str, value: float) -> None:
        if signal == "inlet_valve":
            self.inlet_open = bool(value)
        elif signal == "outlet_valve":
            self.outlet_open = bool(value)
