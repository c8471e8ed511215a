"""Physics models by the name a site file gives in `simulate:`."""

from __future__ import annotations

from isthmus.sim.models.base import AssetModel, ModelContext, World
from isthmus.sim.models.conveyor import ConveyorMotor
from isthmus.sim.models.filler import Filler, FillerState
from isthmus.sim.models.meter import PowerMeter
from isthmus.sim.models.random_walk import RandomWalk
from isthmus.sim.models.water import Pump, Tank

__all__ = ["MODELS", "AssetModel", "ConveyorMotor", "Filler", "FillerState", "ModelContext",
           "PowerMeter", "Pump", "RandomWalk", "Tank", "World"]

#: `simulate:` name -> model class; adding a model is one line here.
MODELS: dict[str, type[AssetModel]] = {
    model.name: model
    for model in (ConveyorMotor, Filler, Pump, Tank, PowerMeter, RandomWalk)
}
