"""A small site with alarms, and helpers to script batches with exact timestamps."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pytest

from isthmus.analytics.alarms import AlarmEngine, AlarmRecord, records_of
from isthmus.config import SiteConfig
from isthmus.model import Event, EventKind, Quality, SampleBatch, TagRegistry

S = 1_000_000_000
T0 = 1_700_000_000 * S  # 2023-11-14T22:13:20Z
PREFIX = "acme/lyon/process/line1/tank1/tank"

SITE: dict[str, Any] = {
    "enterprise": "acme",
    "site": "lyon",
    "devices": [{
        "name": "plc",
        "host": "127.0.0.1",
        "units": [{
            "unit_id": 1,
            "path": "process/line1/tank1/tank",
            "tags": {
                "level": {"address": 0, "type": "float32"},
                "temperature": {"address": 2, "type": "float32"},
                "setpoint": {"address": 4, "type": "float32"},
                "state": {"address": 6},
                "running": {"table": "coil", "address": 0, "type": "bool"},
            },
        }],
    }],
}


def site_with(*alarms: dict[str, Any]) -> SiteConfig:
    return SiteConfig.model_validate({**SITE, "alarms": list(alarms)})


@dataclass
class Rig:
    """An engine over the small site, and the ids of its tags by signal name."""

    engine: AlarmEngine
    ids: dict[str, int]

    def batch(self, rows: Sequence[tuple[str, float, float] | tuple[str, float, float, int]]
              ) -> SampleBatch:
        """Rows of (signal, seconds after T0, value[, quality])."""
        return SampleBatch.of(
            [self.ids[r[0]] for r in rows], [T0 + round(r[1] * S) for r in rows],
            [r[2] for r in rows],
            [r[3] if len(r) > 3 else Quality.GOOD for r in rows])  # type: ignore[misc]

    def feed(self, *rows: tuple[str, float, float] | tuple[str, float, float, int]
             ) -> list[AlarmRecord]:
        """Feed one batch; the alarm records it caused."""
        return list(records_of(self.engine.update(self.batch(rows))))

    def tick(self, seconds: float) -> list[AlarmRecord]:
        """Let time pass to T0 + seconds; the alarm records it caused."""
        return list(records_of(self.engine.tick(T0 + round(seconds * S))))


def rig(*alarms: dict[str, Any]) -> Rig:
    site = site_with(*alarms)
    registry = TagRegistry()
    ids = {t.signal: registry.intern(t) for t in site.tags()}
    return Rig(AlarmEngine(site, registry), ids)


def alarm_records(events: Sequence[Event]) -> list[AlarmRecord]:
    return list(records_of(e for e in events if e.kind == EventKind.ALARM))


def at(record: AlarmRecord) -> float:
    """Seconds after T0 of a record."""
    return (record.ts - T0) / S


@pytest.fixture
def t0() -> int:
    return T0
