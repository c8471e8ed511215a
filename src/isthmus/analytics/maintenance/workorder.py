"""What a CMMS receives for an event: a work request with the asset, the problem, the
evidence, a suggested action, a priority, and a stable id the CMMS can deduplicate on."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

from isthmus.model import Event, EventKind, Severity

__all__ = ["event_id", "work_request"]

# CMMS priorities are usually 1 (emergency) … 5 (when convenient)
_PRIORITY = {Severity.CRITICAL: (1, "emergency"), Severity.HIGH: (2, "urgent"),
             Severity.MEDIUM: (3, "normal"), Severity.LOW: (4, "low"),
             Severity.INFO: (5, "planned"), Severity.DEBUG: (5, "planned")}

_ACTION_BY_SOURCE = {
    "spc": "Check the filling process (valve, setpoint, product, nozzle) and the checkweigher; "
           "take a sample to confirm before adjusting.",
    "energy": "Check which loads ran during the peak; shed or reschedule non-critical loads.",
    "oee": "Review the stops of the period with the line team and fix the top reason.",
    "anomaly": "Inspect the asset for the behaviour the contributing signals show.",
    "health": "Plan an inspection of the asset before its estimated end of life.",
}
_ACTION_BY_KIND = {
    EventKind.ALARM: "Respond per the alarm's documented procedure, then inspect the asset.",
    EventKind.SECURITY: "Investigate per the incident response plan; isolate the device if "
                        "the activity is confirmed.",
    EventKind.INTEGRITY: "Verify the data ledger and the gateway's key; preserve evidence.",
}


def event_id(event: Event) -> str:
    """A stable id: the SHA-256 of the event's canonical JSON (the same event, delivered
    twice, has the same id)."""
    canonical = json.dumps(event.to_dict(), sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


def _suggested_action(event: Event) -> str:
    return _ACTION_BY_SOURCE.get(event.source) or _ACTION_BY_KIND.get(
        event.kind, "Review the event and decide whether maintenance is needed.")


def work_request(event: Event, *, site: str) -> dict[str, Any]:
    """The JSON body POSTed to the CMMS for `event`."""
    level, name = _PRIORITY[event.severity]
    occurred = dt.datetime.fromtimestamp(event.ts / 1e9, dt.UTC)
    return {
        "id": event_id(event),
        "site": site,
        "asset": event.asset or (event.tag.rsplit("/", 1)[0] if event.tag else None),
        "problem": event.message,
        "priority": {"level": level, "name": name},
        "severity": event.severity.name.lower(),
        "occurred_at": occurred.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "suggested_action": _suggested_action(event),
        "evidence": {"kind": event.kind.value, "source": event.source, "tag": event.tag,
                     "attack_techniques": list(event.attack_techniques),
                     "data": dict(event.data)},
    }
