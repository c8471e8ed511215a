"""Sensor-tamper and sensor-fault detection on live data: streaming detectors (stuck,
frozen, spike, noise change, replay) per tag and declared physical relationships between
tags (redundant, linear, integral, balance), learned on a clean period, raising integrity
events with the tag, the kind and the evidence. See docs/integrity.md."""

from isthmus.integrity.sensors.consumer import (
    ConsumerReport,
    learn_stored,
    run_on_bus,
    run_sensor_integrity,
)
from isthmus.integrity.sensors.engine import (
    SensorIntegrityEngine,
    SensorIntegrityStats,
    TagDetector,
)
from isthmus.integrity.sensors.findings import SOURCE, Finding, FindingKind
from isthmus.integrity.sensors.settings import IntegrityConfig

__all__ = [
    "SOURCE",
    "ConsumerReport",
    "Finding",
    "FindingKind",
    "IntegrityConfig",
    "SensorIntegrityEngine",
    "SensorIntegrityStats",
    "TagDetector",
    "learn_stored",
    "run_on_bus",
    "run_sensor_integrity",
]
