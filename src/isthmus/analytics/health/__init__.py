"""Predictive maintenance: per asset, a health index (0-100) from its signals' levels (ISO
10816 zones for vibration) and anomaly score, and the remaining useful life of its
degradation signal by robust trend extrapolation, streamed on the bus."""

from isthmus.analytics.health.assessment import MAX_RUL_HOURS, AssetHealth
from isthmus.analytics.health.engine import HealthEngine, health_derived_tags
from isthmus.analytics.health.trend import TrendFit, TrendModel, fit_trend
from isthmus.analytics.health.zones import ISO10816_ZONES, HealthScale, ZoneBoundaries

__all__ = [
    "ISO10816_ZONES",
    "MAX_RUL_HOURS",
    "AssetHealth",
    "HealthEngine",
    "HealthScale",
    "TrendFit",
    "TrendModel",
    "ZoneBoundaries",
    "fit_trend",
    "health_derived_tags",
]
