"""Monitor events as ECS-like JSON objects (Elastic Common Schema field names:
`@timestamp`, `event.*`, `source.*`, `destination.*`, `network.*`), with the protocol's own
fields under its name (`modbus.*`) and anomalies under `isthmus.anomaly.*`."""

from __future__ import annotations

import time
from typing import Any

from isthmus.security.events import Anomaly, FlowKey, ProtocolEvent

__all__ = ["timestamp", "to_ecs"]

_TYPES = {"read": "access", "identify": "info", "diagnostics": "info", "write": "change",
          "read_write": "change", "program": "change"}


def timestamp(ts_ns: int) -> str:
    """RFC 3339 UTC with nanoseconds: 2026-11-26T04:33:00.123456789Z."""
    sec, ns = divmod(ts_ns, 1_000_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(sec)) + f".{ns:09d}Z"


def _endpoints(doc: dict[str, Any], flow: FlowKey) -> None:
    doc["source"] = {"ip": flow.src, "port": flow.sport}
    doc["destination"] = {"ip": flow.dst, "port": flow.dport}
    doc["network"] = {"transport": flow.transport,
                      "type": "ipv6" if ":" in flow.src else "ipv4"}


def to_ecs(event: ProtocolEvent | Anomaly) -> dict[str, Any]:
    if isinstance(event, Anomaly):
        return _anomaly(event)
    kinds = ["protocol", _TYPES.get(event.operation, "info")]
    fields = event.fields()
    if fields.get("exception_code") is not None:
        kinds.append("error")
    doc: dict[str, Any] = {
        "@timestamp": timestamp(event.ts_ns),
        "event": {"kind": "event", "category": ["network"], "type": kinds,
                  "action": f"{event.protocol}-{fields.get('function', event.operation)}",
                  "severity": int(event.severity), "dataset": "isthmus.monitor"},
        "message": event.summary(),
    }
    _endpoints(doc, event.flow)
    doc["network"]["protocol"] = event.protocol
    doc[event.protocol] = fields
    return doc


def _anomaly(event: Anomaly) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "@timestamp": timestamp(event.ts_ns),
        "event": {"kind": "event", "category": ["network"], "type": ["error"],
                  "action": "protocol-anomaly", "reason": event.reason,
                  "severity": int(event.severity), "dataset": "isthmus.monitor"},
        "message": event.message,
        "isthmus": {"anomaly": {"layer": event.layer, "reason": event.reason,
                                "offset": event.offset}},
    }
    if event.flow is not None:
        _endpoints(doc, event.flow)
        if event.layer not in ("tcp", "udp", "ip", "link"):
            doc["network"]["protocol"] = event.layer
    if event.source:
        doc["file"] = {"path": event.source}
    return doc
