"""What every asset model offers the plant: advance in simulated time, report signal values.

Models are deterministic given their numpy Generator and the sequence of steps they are given.
"""

from __future__ import annotations

import abc
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar, TypeVar

import numpy as np
import numpy.typing as npt

from isthmus.config.schema import PointConfig
from isthmus.sim.errors import PlantConfigError

__all__ = ["AssetModel", "ModelContext", "World", "lag", "ornstein_uhlenbeck"]

_M = TypeVar("_M", bound="AssetModel")


@dataclass(frozen=True)
class ModelContext:
    """What a model is built from: where it stands, the points it serves, its random source."""

    asset_path: str                      # area/line/cell/asset
    points: Mapping[str, PointConfig]    # signal -> point, in the unit's order
    rng: np.random.Generator


class World:
    """The models of one plant, so that a model can find its neighbours (the conveyor that
    feeds a filler, the pump that fills a tank) and the meter can add up the loads."""

    def __init__(self, models: list[AssetModel]) -> None:
        self.models = models
        self.time_s = 0.0
        self._nearest: dict[tuple[type[AssetModel], str], AssetModel | None] = {}

    def nearest(self, kind: type[_M], asset_path: str) -> _M | None:
        """The model of `kind` sharing the most leading path segments with `asset_path`
        (at least the area); None if there is none."""
        key = (kind, asset_path)
        if key not in self._nearest:
            self._nearest[key] = self._search(kind, asset_path)
        found = self._nearest[key]
        assert found is None or isinstance(found, kind)
        return found

    def _search(self, kind: type[_M], asset_path: str) -> _M | None:
        mine = asset_path.split("/")
        best: tuple[int, _M | None] = (0, None)
        for model in self.models:
            if not isinstance(model, kind):
                continue
            theirs = model.asset_path.split("/")
            shared = 0
            for a, b in zip(mine, theirs, strict=True):
                if a != b:
                    break
                shared += 1
            if shared > best[0]:
                best = (shared, model)
        return best[1]

    def total_load_kw(self) -> float:
        return sum(model.power_kw for model in self.models)


class AssetModel(abc.ABC):
    """One asset's physics. Subclasses set `provides` and implement `advance` and `read`."""

    #: model name used by `simulate:` in the site file
    name: ClassVar[str]
    #: signal names the model produces; None means any name (generic models)
    provides: ClassVar[frozenset[str] | None]
    #: models of a lower stage advance first within a step (sources before consumers)
    stage: ClassVar[int] = 0
    #: longest simulated step the model's discretisation stays faithful for
    max_step_s: ClassVar[float] = 60.0

    def __init__(self, ctx: ModelContext) -> None:
        self.asset_path = ctx.asset_path
        self.rng = ctx.rng
        self.signals = tuple(ctx.points)
        if self.provides is not None:
            unknown = [s for s in self.signals if s not in self.provides]
            if unknown:
                raise PlantConfigError(
                    f"{ctx.asset_path}: model {self.name!r} has no signal "
                    f"{', '.join(map(repr, unknown))}; it provides: "
                    f"{', '.join(sorted(self.provides))}")
        #: multiplies the wear rate; scenarios raise it (bearing_wear fault)
        self.wear_factor = 1.0

    @property
    def power_kw(self) -> float:
        """Electrical power the asset draws now (for the plant's energy meter)."""
        return 0.0

    @abc.abstractmethod
    def advance(self, dt_s: float, world: World) -> None:
        """Advance the state by `dt_s` simulated seconds (world.time_s is the step's end)."""

    @abc.abstractmethod
    def read(self) -> Mapping[str, float]:
        """Current value of every provided signal, in engineering units."""

    def command(self, signal: str, value: float) -> None:  # noqa: B027 - optional hook
        """A client wrote `value` to `signal`; models act on the signals they accept."""

    def values(self) -> npt.NDArray[np.float64]:
        """Values of the unit's signals, in the unit's point order."""
        now = self.read()
        return np.fromiter((now[s] for s in self.signals), np.float64, len(self.signals))


def lag(value: float, target: float, dt_s: float, tau_s: float) -> float:
    """First-order lag, exact for any step (stable at any speed-up)."""
    return target + (value - target) * math.exp(-dt_s / tau_s)


def ornstein_uhlenbeck(x: float, mean: float, *, theta: float, sigma: float, dt_s: float,
                       rng: np.random.Generator) -> float:
    """Mean-reverting noise, exact discretisation: stationary std-dev is sigma/sqrt(2·theta)."""
    decay = math.exp(-theta * dt_s)
    std = sigma * math.sqrt((1.0 - decay * decay) / (2.0 * theta))
    return mean + (x - mean) * decay + std * float(rng.standard_normal())
