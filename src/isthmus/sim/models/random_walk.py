"""Generic model for any register map: every numeric signal wanders (mean-reverting) inside
its configured range, every bit flips now and then. Vectorised over the unit's signals, so
a synthetic plant of thousands of tags costs a few numpy calls per step."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from isthmus.model import DataType
from isthmus.sim.models.base import AssetModel, ModelContext, World

__all__ = ["RandomWalk"]

_DEFAULT_RANGE: dict[DataType, tuple[float, float]] = {
    DataType.INT16: (-1000.0, 1000.0), DataType.INT32: (-100_000.0, 100_000.0),
    DataType.INT64: (-100_000.0, 100_000.0), DataType.BOOL: (0.0, 1.0),
}
_THETA = 1 / 120.0       # reverts to the middle of the range in a couple of minutes
_FLIP_S = 300.0          # a bit flips every five minutes on average


class RandomWalk(AssetModel):
    name = "random_walk"
    provides = None
    max_step_s = math.inf     # exact discretisation: any step is faithful

    def __init__(self, ctx: ModelContext) -> None:
        super().__init__(ctx)
        ranges = [p.range or _DEFAULT_RANGE.get(p.type, (0.0, 1000.0))
                  for p in ctx.points.values()]
        self.low = np.array([r[0] for r in ranges], np.float64)
        self.high = np.array([r[1] for r in ranges], np.float64)
        self.bits = np.array([p.type == DataType.BOOL for p in ctx.points.values()])
        self.mid = (self.low + self.high) / 2
        # stationary spread: a sixth of the range either side of the middle
        self.sigma = (self.high - self.low) / 6.0 * math.sqrt(2 * _THETA)
        self.x = self.rng.uniform(self.low, self.high)
        self.bit_values = np.round(self.x[self.bits])
        self.x[self.bits] = self.bit_values

    def advance(self, dt_s: float, world: World) -> None:
        decay = math.exp(-_THETA * dt_s)
        std = self.sigma * math.sqrt((1 - decay * decay) / (2 * _THETA))
        noise = self.rng.standard_normal(self.x.size)
        self.x = self.mid + (self.x - self.mid) * decay + std * noise
        np.clip(self.x, self.low, self.high, out=self.x)
        flips = self.rng.random(self.bit_values.size) < -math.expm1(-dt_s / _FLIP_S)
        self.bit_values = np.where(flips, 1.0 - self.bit_values, self.bit_values)
        self.x[self.bits] = self.bit_values

    def read(self) -> dict[str, float]:
        return dict(zip(self.signals, self.values().tolist(), strict=True))

    def values(self) -> npt.NDArray[np.float64]:
        return self.x.copy()
