"""Protocol events worth a platform event before any baseline exists: requests that change
a device (write, operate, program, stop, …) or ask it who it is (identify), from any
client. Turned into `isthmus.model.Event` (kind security) with the ECS document as data,
so that they reach the historian's events table like the gateway's own events."""

from __future__ import annotations

from typing import Any

from isthmus.model import Event, EventKind, Severity
from isthmus.security.events import ProtocolEvent
from isthmus.security.operations import DANGEROUS

__all__ = ["TECHNIQUES", "is_flagged", "platform_event"]

#: ATT&CK for ICS technique per operation (v18 ids): unauthorized command message,
#: remote system information discovery, program download/upload, device restart/stop.
TECHNIQUES: dict[str, tuple[str, ...]] = {
    "write": ("T0855",), "read_write": ("T0855",), "operate": ("T0855",),
    "select": ("T0855",), "identify": ("T0888",), "download": ("T0843",),
    "upload": ("T0845",), "program": ("T0843",), "cpu_stop": ("T0858",),
    "cpu_start": ("T0858",), "restart": ("T0816",),
}
_FLOOR = {"identify": Severity.LOW}


def is_flagged(event: ProtocolEvent) -> bool:
    """A request that changes a device or identifies it."""
    return event.direction == "request" and (
        event.operation in DANGEROUS or event.operation == "identify")


def platform_event(event: ProtocolEvent, doc: dict[str, Any]) -> Event:
    """The platform event for a flagged protocol event; `doc` is its ECS document (with
    the correlation's `isthmus.*` fields when the write hit a known tag)."""
    correlation = doc.get("isthmus", {})
    tag = correlation.get("tag")
    severity = max(event.severity, _FLOOR.get(event.operation, Severity.MEDIUM))
    message = f"{event.summary()} from {event.flow.src} to {event.flow.dst}:{event.flow.dport}"
    if tag:
        written = correlation.get("value_written")
        message += f": {tag}" + (f" ← {written:g}" if isinstance(written, float) else "")
    return Event(event.ts_ns, EventKind.SECURITY, severity, message, source="monitor",
                 asset=event.flow.dst, tag=tag,
                 attack_techniques=TECHNIQUES.get(event.operation, ()), data=doc)
