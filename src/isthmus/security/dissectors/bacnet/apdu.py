"""One BACnet/IP datagram: BVLC header, NPDU (routing, network-layer messages) and APDU
(confirmed and unconfirmed requests, acknowledgements, errors, rejects, aborts), with the
service-specific fields that matter: device instance and vendor from I-Am, object and
property of read/write-property, the written value, reinitialize and DCC arguments."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from isthmus.model import Severity
from isthmus.security.dissectors.bacnet.names import (
    CONFIRMED,
    OBJECT_TYPES,
    PROPERTIES,
    REINITIALIZE_STATES,
    UNCONFIRMED,
)
from isthmus.security.dissectors.bacnet.tags import CLOSING, OPENING, object_id, read_tag, value
from isthmus.security.dissectors.cursor import Cursor
from isthmus.security.dissectors.message_event import MessageEvent
from isthmus.security.dissectors.message_session import Malformed
from isthmus.security.events import FlowKey
from isthmus.security.operations import DANGEROUS

__all__ = ["BVLC_FUNCTIONS", "BacnetEvent", "parse_datagram"]

BVLC_FUNCTIONS = {0x00: "bvlc_result", 0x01: "write_bdt", 0x02: "read_bdt",
                  0x03: "read_bdt_ack", 0x04: "forwarded_npdu", 0x05: "register_foreign_device",
                  0x06: "read_fdt", 0x07: "read_fdt_ack", 0x08: "delete_fdt_entry",
                  0x09: "distribute_broadcast", 0x0A: "original_unicast",
                  0x0B: "original_broadcast", 0x0C: "secure_bvll"}
_NPDU_FUNCTIONS = frozenset({0x04, 0x09, 0x0A, 0x0B})
_PDU_TYPES = {2: "simple_ack", 3: "complex_ack", 4: "segment_ack", 5: "error", 6: "reject",
              7: "abort"}
_IDENTITY_PROPERTIES = {121: "vendor", 70: "model", 44: "firmware", 77: "name",
                        12: "software"}


@dataclass
class BacnetEvent(MessageEvent):
    def summary(self) -> str:
        text = f"bacnet {self.function} {self.direction}"
        if "object" in self.detail:
            text += f" {self.detail['object']}"
        if "property" in self.detail:
            text += f".{self.detail['property']}"
        return text


def _object(raw: bytes) -> str:
    kind, instance = object_id(raw)
    return f"{OBJECT_TYPES.get(kind, f'type_{kind}')}:{instance}"


def parse_datagram(payload: bytes, flow: FlowKey, ts_ns: int) -> BacnetEvent:
    cur = Cursor(payload)
    if cur.u8("BVLC type") != 0x81:
        raise Malformed("bad-bvlc", f"BVLC type {payload[0]:#04x}, not 0x81 (BACnet/IP)")
    function = cur.u8("BVLC function")
    length = cur.u16("BVLC length")
    if length != len(payload):
        raise Malformed("bad-length", f"BVLC length {length}, datagram {len(payload)}", 2)
    name = BVLC_FUNCTIONS.get(function, f"bvlc_{function:#04x}")
    detail: dict[str, Any] = {"bvlc": name}
    if function not in _NPDU_FUNCTIONS:
        return _event(flow, ts_ns, len(payload), name, "other", "request", detail)
    if function == 0x04:
        cur.take(6, "forwarded address")
    if cur.u8("NPDU version") != 1:
        raise Malformed("bad-npdu", "NPDU version is not 1", cur.pos - 1)
    control = cur.u8("NPDU control")
    _routing(cur, control, detail)
    if control & 0x80:
        kind = cur.u8("network message type")
        detail["network_message"] = kind
        return _event(flow, ts_ns, len(payload), "network_message", "other", "request", detail)
    return _apdu(cur, flow, ts_ns, len(payload), detail)


def _routing(cur: Cursor, control: int, detail: dict[str, Any]) -> None:
    if control & 0x20:
        detail["dnet"] = cur.u16("DNET")
        cur.take(cur.u8("DLEN"), "DADR")
    if control & 0x08:
        detail["snet"] = cur.u16("SNET")
        cur.take(cur.u8("SLEN"), "SADR")
    if control & 0x20:
        cur.u8("hop count")


def _apdu(cur: Cursor, flow: FlowKey, ts_ns: int, length: int,
          detail: dict[str, Any]) -> BacnetEvent:
    first = cur.u8("APDU type")
    kind = first >> 4
    if kind == 1:                                               # unconfirmed request
        service = cur.u8("service choice")
        name, operation = UNCONFIRMED.get(service, (f"unconfirmed_{service}", "other"))
        answer = service in (0, 1, 2, 3, 11, 12, 14)           # reports, not questions
        event = _event(flow, ts_ns, length, name, operation,
                       "response" if answer else "request", detail)
        _unconfirmed(cur, service, event)
        return event
    if kind == 0:                                               # confirmed request
        cur.u8("max segments / max APDU")
        detail["invoke_id"] = cur.u8("invoke id")
        if first & 0x08:
            cur.take(2, "sequence number and window")
        service = cur.u8("service choice")
        name, operation = CONFIRMED.get(service, (f"confirmed_{service}", "other"))
        event = _event(flow, ts_ns, length, name, operation, "request", detail)
        _confirmed(cur, service, event)
        return event
    if kind not in _PDU_TYPES:
        raise Malformed("bad-apdu", f"APDU type {kind}", cur.pos - 1)
    return _answer(cur, first, kind, flow, ts_ns, length, detail)


def _answer(cur: Cursor, first: int, kind: int, flow: FlowKey, ts_ns: int, length: int,
            detail: dict[str, Any]) -> BacnetEvent:
    detail["pdu_type"] = _PDU_TYPES[kind]
    detail["invoke_id"] = cur.u8("invoke id")
    if kind in (6, 7):
        detail["reason"] = cur.u8("reason")
        return _event(flow, ts_ns, length, _PDU_TYPES[kind], "other", "response", detail)
    if kind == 4:
        return _event(flow, ts_ns, length, "segment_ack", "other", "response", detail)
    if kind == 3 and first & 0x08:
        cur.take(2, "sequence number and window")
    service = cur.u8("service choice")
    name, operation = CONFIRMED.get(service, (f"confirmed_{service}", "other"))
    event = _event(flow, ts_ns, length, name, operation, "response", detail)
    if kind == 5:
        event.severity = max(event.severity, Severity.LOW)
        for key in ("error_class", "error_code"):
            tag = read_tag(cur)
            detail[key] = value(cur, tag)
    elif kind == 3 and service == 12:
        _property(cur, event, with_value=True)
    return event


def _event(flow: FlowKey, ts_ns: int, length: int, name: str, operation: str,
           direction: str, detail: dict[str, Any]) -> BacnetEvent:
    severity = Severity.LOW if operation in DANGEROUS else Severity.INFO
    return BacnetEvent(ts_ns, flow, "bacnet", direction, operation, severity, length,
                       function=name, detail=detail)


def _unconfirmed(cur: Cursor, service: int, event: BacnetEvent) -> None:
    if service == 0:                                            # I-Am
        tag = read_tag(cur)
        kind, instance = object_id(cur.take(tag.length, "device identifier"))
        max_apdu, segmentation, vendor = (value(cur, read_tag(cur)) for _ in range(3))
        event.detail.update(device_instance=instance, max_apdu=max_apdu,
                            segmentation=segmentation, vendor_id=vendor)
        event.address = f"{OBJECT_TYPES.get(kind, f'type_{kind}')}:{instance}"
        event.identity = {"device_instance": str(instance), "vendor_id": str(vendor)}
    elif service == 8 and cur.left:                             # Who-Is with a range
        low, high = read_tag(cur), None
        event.detail["low_limit"] = int.from_bytes(cur.take(low.length, "low limit"), "big")
        high = read_tag(cur)
        event.detail["high_limit"] = int.from_bytes(cur.take(high.length, "high limit"), "big")


def _confirmed(cur: Cursor, service: int, event: BacnetEvent) -> None:
    if service in (12, 15):
        _property(cur, event, with_value=service == 15)
    elif service == 20:
        tag = read_tag(cur)
        state = int.from_bytes(cur.take(tag.length, "reinitialized state"), "big")
        event.detail["state"] = REINITIALIZE_STATES.get(state, f"state_{state}")
        event.detail["password_present"] = cur.left > 0
    elif service == 17:
        tag = read_tag(cur)
        if tag.number == 0:
            event.detail["duration_min"] = int.from_bytes(cur.take(tag.length, "duration"),
                                                          "big")
            tag = read_tag(cur)
        state = int.from_bytes(cur.take(tag.length, "enable-disable"), "big")
        event.detail["enable_disable"] = {0: "enable", 1: "disable",
                                          2: "disable_initiation"}.get(state, str(state))
        event.detail["password_present"] = cur.left > 0


def _property(cur: Cursor, event: BacnetEvent, *, with_value: bool) -> None:
    """Object identifier [0], property identifier [1], array index [2], value [3]."""
    tag = read_tag(cur)
    raw = cur.take(tag.length, "object identifier")
    event.detail["object"] = event.address = _object(raw)
    tag = read_tag(cur)
    prop = int.from_bytes(cur.take(tag.length, "property identifier"), "big")
    event.detail["property"] = PROPERTIES.get(prop, f"property_{prop}")
    if not with_value or not cur.left:
        return
    tag = read_tag(cur)
    if tag.number == 2 and tag.kind == 0:
        event.detail["array_index"] = int.from_bytes(cur.take(tag.length, "index"), "big")
        tag = read_tag(cur)
    if tag.kind != OPENING:
        return
    inner = read_tag(cur)
    if inner.kind == CLOSING or inner.context:
        return
    event.values = [value(cur, inner)]
    if object_id(raw)[0] == 8 and prop in _IDENTITY_PROPERTIES and isinstance(
            event.values[0], str) and event.direction == "response":
        event.identity = {_IDENTITY_PROPERTIES[prop]: event.values[0]}
