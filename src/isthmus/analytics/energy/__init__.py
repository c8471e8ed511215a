"""Energy per ISO 50001: consumption per unit, 15-minute peak demand, idle energy and the
baseline-adjusted EnPI, per meter (a line or the site)."""

from isthmus.analytics.energy.baseline import BaselineModel, fit_baseline
from isthmus.analytics.energy.meter import EnergyInterval, MeterTracker
from isthmus.analytics.energy.monitor import (
    ENERGY_SIGNALS,
    EnergyDay,
    EnergyMonitor,
    energy_derived_tags,
    energy_tag_path,
)

__all__ = [
    "ENERGY_SIGNALS",
    "BaselineModel",
    "EnergyDay",
    "EnergyInterval",
    "EnergyMonitor",
    "MeterTracker",
    "energy_derived_tags",
    "energy_tag_path",
    "fit_baseline",
]
