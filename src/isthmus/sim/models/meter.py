"""Main power meter: active power is the plant's modelled loads plus a base load (lighting,
HVAC, compressors) with a daily pattern; energy integrates power; voltage, frequency and
power factor wander around their nominal values."""

from __future__ import annotations

import math
from collections.abc import Mapping

from isthmus.sim.models.base import AssetModel, ModelContext, World, ornstein_uhlenbeck

__all__ = ["PowerMeter"]


class PowerMeter(AssetModel):
    name = "power_meter"
    provides = frozenset({"kw", "kwh", "kvar", "power_factor", "voltage", "current",
                          "frequency", "peak_kw"})
    stage = 9            # after every load it measures

    def __init__(self, ctx: ModelContext) -> None:
        super().__init__(ctx)
        self.kwh = float(self.rng.uniform(150_000.0, 200_000.0))  # a meter that has served
        self.base = 15.0
        self.kw = self.base
        self.pf = 0.9
        self.voltage = 400.0
        self.frequency = 50.0
        self.peak_kw = 0.0

    def advance(self, dt_s: float, world: World) -> None:
        rng = self.rng
        daily = 15.0 + 6.0 * math.sin(2 * math.pi * (world.time_s / 86400.0 - 0.3))
        self.base = ornstein_uhlenbeck(self.base, daily, theta=1 / 300, sigma=0.1,
                                       dt_s=dt_s, rng=rng)
        loads = sum(m.power_kw for m in world.models if not isinstance(m, PowerMeter))
        self.kw = max(0.0, self.base + loads)
        self.kwh += self.kw * dt_s / 3600.0
        self.peak_kw = max(self.peak_kw, self.kw)
        self.pf = min(0.99, ornstein_uhlenbeck(self.pf, 0.9, theta=1 / 600, sigma=0.001,
                                               dt_s=dt_s, rng=rng))
        self.voltage = ornstein_uhlenbeck(self.voltage, 400.0, theta=1 / 60, sigma=0.3,
                                          dt_s=dt_s, rng=rng)
        self.frequency = ornstein_uhlenbeck(self.frequency, 50.0, theta=1 / 30,
                                            sigma=0.004, dt_s=dt_s, rng=rng)

    def read(self) -> Mapping[str, float]:
        kvar = self.kw * math.tan(math.acos(self.pf))
        current = self.kw * 1000.0 / (math.sqrt(3) * self.voltage * self.pf)
        return {"kw": self.kw, "kwh": self.kwh, "kvar": kvar, "power_factor": self.pf,
                "voltage": self.voltage, "current": current, "frequency": self.frequency,
                "peak_kw": self.peak_kw}
