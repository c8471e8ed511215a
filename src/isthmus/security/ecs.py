"""Monitor events as ECS-like JSON objects (Elastic Common Schema field names:
`@timestamp`, `event.*`, `source.*`, `destination.*`, `network.*`), with the protocol's own
fields under its name (`modbus.*`), anomalies under `isthmus.anomaly.*` and detection
alerts with `rule.*`, `threat.*` (MITRE ATT&CK for ICS) and `attack.version`."""

from __future__ import annotations

import functools
import time
from typing import Any

import orjson

from isthmus.security.detect.alert import Alert
from isthmus.security.detect.attack import FRAMEWORK
from isthmus.security.events import Anomaly, FlowKey, ProtocolEvent

__all__ = ["json_line", "timestamp", "to_ecs"]

_TYPES = {"read": "access", "identify": "info", "diagnostics": "info", "write": "change",
          "read_write": "change", "program": "change"}


# one UTF-8 JSON object per line; dict keys that are numbers become strings, as with `json`
_JSON_LINE = orjson.OPT_APPEND_NEWLINE | orjson.OPT_NON_STR_KEYS


def json_line(doc: dict[str, Any]) -> bytes:
    """`doc` as one compact JSON line (UTF-8, newline-terminated; NaN becomes null)."""
    return orjson.dumps(doc, option=_JSON_LINE)


def timestamp(ts_ns: int) -> str:
    """RFC 3339 UTC with nanoseconds: 2026-11-26T04:33:00.123456789Z."""
    sec, ns = divmod(ts_ns, 1_000_000_000)
    return f"{_second(sec)}.{ns:09d}Z"


@functools.lru_cache(maxsize=64)            # events come in bursts within the same second
def _second(sec: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(sec))


def _endpoints(doc: dict[str, Any], flow: FlowKey) -> None:
    doc["source"] = {"ip": flow.src, "port": flow.sport}
    doc["destination"] = {"ip": flow.dst, "port": flow.dport}
    doc["network"] = {"transport": flow.transport,
                      "type": "ipv6" if ":" in flow.src else "ipv4"}


def to_ecs(event: ProtocolEvent | Anomaly | Alert) -> dict[str, Any]:
    if isinstance(event, Anomaly):
        return _anomaly(event)
    if isinstance(event, Alert):
        return _alert(event)
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


def _alert(alert: Alert) -> dict[str, Any]:
    """A detection: `event.kind: alert`, the rule under `rule.*`, ATT&CK for ICS under
    `threat.*` (renumbered techniques list both their classic and v19 ids), the ATT&CK
    version under `attack.version`, the evidence under `isthmus.alert.*`."""
    doc: dict[str, Any] = {
        "@timestamp": timestamp(alert.ts_ns),
        "event": {"kind": "alert", "category": ["intrusion_detection", "network"],
                  "type": ["info"], "action": alert.rule_id,
                  "severity": int(alert.severity), "dataset": "isthmus.monitor"},
        "message": alert.message,
        "rule": {"id": alert.rule_id, "name": alert.rule_name},
        "attack": {"version": alert.attack_version,
                   "techniques": [t.to_dict() for t in alert.techniques]},
        "isthmus": {"alert": {"client": alert.client, "server": alert.server,
                              "protocol": alert.protocol, "count": alert.count,
                              "evidence": alert.evidence, "detail": alert.detail}},
    }
    if alert.techniques:
        doc["threat"] = {"framework": FRAMEWORK,
                         "technique": {"id": [i for t in alert.techniques for i in t.ids],
                                       "name": [n for t in alert.techniques
                                                for n in t.names]}}
    if alert.flow is not None:
        _endpoints(doc, alert.flow)
        doc["network"]["protocol"] = alert.protocol
    return doc
