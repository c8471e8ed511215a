"""ISA-18.2 alarms: limit, rate, deviation, digital state, bad quality and stale conditions,
with deadband, delays, shelving, suppression by design and out of service."""

from isthmus.analytics.alarms.engine import AlarmEngine, AlarmEngineStats
from isthmus.analytics.alarms.records import (
    AlarmRecord,
    EventSource,
    latest_records,
    read_alarm_events,
    records_of,
)
from isthmus.analytics.alarms.spec import AlarmSpec, alarm_specs
from isthmus.analytics.alarms.states import (
    ALLOWED_TRANSITIONS,
    AlarmActionError,
    AlarmState,
    Transition,
)

__all__ = [
    "ALLOWED_TRANSITIONS",
    "AlarmActionError",
    "AlarmEngine",
    "AlarmEngineStats",
    "AlarmRecord",
    "AlarmSpec",
    "AlarmState",
    "EventSource",
    "Transition",
    "alarm_specs",
    "latest_records",
    "read_alarm_events",
    "records_of",
]
