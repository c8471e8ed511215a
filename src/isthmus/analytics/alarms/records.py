"""Alarm events as stored records: the data every ALARM event carries, read back into typed
records, so that KPIs and `isthmus alarms` work from the stored events alone."""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from isthmus.analytics.alarms.states import AlarmState, Transition
from isthmus.config.alarms import Priority
from isthmus.model import Event, EventKind

__all__ = ["AlarmRecord", "EventSource", "latest_records", "read_alarm_events", "records_of"]


class EventSource(Protocol):
    """The part of the historian that alarm reports read."""

    def events(self, start_ns: int, end_ns: int, *, kind: str | None = None,
               limit: int = 1000) -> list[Event]: ...


def _number(value: Any) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) \
        else float(value)


def _int(value: Any) -> int | None:
    return None if value is None else int(value)


@dataclass(frozen=True, slots=True)
class AlarmRecord:
    """One state change of one alarm, as stored in an ALARM event's data."""

    ts: int
    alarm: str
    tag: str
    condition: str
    state: AlarmState
    previous: AlarmState
    transition: Transition
    priority: Priority
    area: str
    active: bool
    acked: bool
    value: float | None = None
    limit: float | None = None
    setpoint: float | None = None
    active_since: int | None = None
    shelved_until: int | None = None
    operator: str | None = None
    comment: str | None = None
    message: str = ""

    @property
    def annunciation(self) -> bool:
        """This change presented the alarm to the operator (the unit of alarm-rate KPIs)."""
        return self.state == AlarmState.UNACK_ACTIVE and self.previous != AlarmState.UNACK_ACTIVE

    def data(self) -> dict[str, Any]:
        """The event's `data` mapping (JSON-ready: no NaN)."""
        return {
            "alarm": self.alarm, "condition": self.condition, "state": self.state.value,
            "previous": self.previous.value, "transition": self.transition.value,
            "priority": self.priority.value, "area": self.area, "active": self.active,
            "acked": self.acked, "value": self.value, "limit": self.limit,
            "setpoint": self.setpoint, "active_since": self.active_since,
            "shelved_until": self.shelved_until, "operator": self.operator,
            "comment": self.comment,
        }

    @classmethod
    def from_event(cls, event: Event) -> AlarmRecord:
        """Read an ALARM event back; KeyError/ValueError name what is missing or wrong."""
        if event.kind != EventKind.ALARM:
            raise ValueError(f"event at {event.ts} is {event.kind.value}, not an alarm")
        d: Mapping[str, Any] = event.data
        try:
            return cls(
                ts=event.ts, alarm=str(d["alarm"]), tag=event.tag or "",
                condition=str(d["condition"]), state=AlarmState(d["state"]),
                previous=AlarmState(d["previous"]), transition=Transition(d["transition"]),
                priority=Priority(d["priority"]), area=str(d["area"]),
                active=bool(d["active"]), acked=bool(d["acked"]), value=_number(d.get("value")),
                limit=_number(d.get("limit")), setpoint=_number(d.get("setpoint")),
                active_since=_int(d.get("active_since")),
                shelved_until=_int(d.get("shelved_until")), operator=d.get("operator"),
                comment=d.get("comment"), message=event.message)
        except KeyError as exc:
            raise ValueError(f"alarm event at {event.ts} lacks data field {exc}") from None


def records_of(events: Iterable[Event]) -> Iterator[AlarmRecord]:
    """Alarm records of the ALARM events among `events` (others are skipped)."""
    for event in events:
        if event.kind == EventKind.ALARM and "alarm" in event.data:
            yield AlarmRecord.from_event(event)


def latest_records(records: Iterable[AlarmRecord]) -> dict[str, AlarmRecord]:
    """The last record of each alarm (records in time order)."""
    latest: dict[str, AlarmRecord] = {}
    for record in records:
        latest[record.alarm] = record
    return latest


def read_alarm_events(source: EventSource, start_ns: int, end_ns: int, *,
                      page: int = 10_000) -> Iterator[Event]:
    """Every ALARM event in [start_ns, end_ns), in time order, read page by page."""
    start, skip = start_ns, 0
    while True:
        events = source.events(start, end_ns, kind=EventKind.ALARM.value, limit=page + skip)
        fresh = events[skip:]
        yield from fresh
        if len(events) < page + skip:
            return
        # the next page starts at the last timestamp, skipping the events already yielded
        # there (the historian orders events of one timestamp by insertion)
        start = events[-1].ts
        skip = sum(1 for e in events if e.ts == start)
