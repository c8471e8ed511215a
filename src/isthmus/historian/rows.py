"""Tags and events as database rows (columns shared by every backend; mappings as JSON)."""

from __future__ import annotations

import json
from typing import Any

from isthmus.model import DataType, Event, EventKind, Severity, Tag

__all__ = ["EVENT_COLUMNS", "TAG_COLUMNS", "event_to_row", "row_to_event", "row_to_tag",
           "tag_to_row"]

TAG_COLUMNS = ("path", "unit", "data_type", "low", "high", "deadband", "scan_rate_s",
               "description", "source")

TagRow = tuple[str, str, str, float | None, float | None, float, float, str, str]


def tag_to_row(tag: Tag) -> TagRow:
    return (tag.path, tag.unit, tag.data_type.value, tag.low, tag.high, tag.deadband,
            tag.scan_rate_s, tag.description, json.dumps(dict(tag.source), sort_keys=True))


def row_to_tag(row: tuple[Any, ...]) -> Tag:
    path, unit, data_type, low, high, deadband, scan_rate_s, description, source = row
    parsed = source if isinstance(source, dict) else json.loads(source)
    return Tag(path=path, unit=unit, data_type=DataType(data_type), low=low, high=high,
               deadband=deadband, scan_rate_s=scan_rate_s, description=description,
               source=parsed)


EVENT_COLUMNS = ("ts", "kind", "severity", "message", "source", "asset", "tag", "techniques",
                 "data")

EventRow = tuple[int, str, int, str, str, str | None, str | None, str, str]


def event_to_row(event: Event) -> EventRow:
    return (event.ts, event.kind.value, int(event.severity), event.message, event.source,
            event.asset, event.tag, json.dumps(list(event.attack_techniques)),
            json.dumps(dict(event.data), sort_keys=True, default=str))


def row_to_event(row: tuple[Any, ...]) -> Event:
    ts, kind, severity, message, source, asset, tag, techniques, data = row
    return Event(ts=ts, kind=EventKind(kind), severity=Severity(severity), message=message,
                 source=source, asset=asset, tag=tag,
                 attack_techniques=tuple(_json(techniques)), data=_json(data))


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value
