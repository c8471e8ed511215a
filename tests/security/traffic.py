"""Test traffic: Modbus ADUs, conversations and captures written with our pcap writer."""

from __future__ import annotations

import json
import struct
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from isthmus.security import Monitor, MonitorEvent, MonitorSummary, to_ecs
from isthmus.security.capture import LINKTYPE_ETHERNET, PcapWriter
from isthmus.security.craft import Endpoint, TcpConversation

T0 = 1_764_000_000_000_000_000          # 2025-11-24T16:00:00Z
PLC = Endpoint("10.10.0.1", 502, "02:00:00:00:00:01")
HMI = Endpoint("10.10.0.2", 49152, "02:00:00:00:00:02")
EWS = Endpoint("10.10.0.3", 50000, "02:00:00:00:00:03")


def adu(tid: int, unit: int, pdu: bytes) -> bytes:
    return struct.pack(">HHHB", tid, 0, len(pdu) + 1, unit) + pdu


def read_request(tid: int, fc: int = 3, address: int = 0, count: int = 2,
                 unit: int = 1) -> bytes:
    return adu(tid, unit, struct.pack(">BHH", fc, address, count))


def registers_response(tid: int, values: Iterable[int], fc: int = 3, unit: int = 1) -> bytes:
    data = b"".join(struct.pack(">H", v) for v in values)
    return adu(tid, unit, bytes([fc, len(data)]) + data)


def conversation(client: Endpoint = HMI, server: Endpoint = PLC) -> TcpConversation:
    return TcpConversation(client, server)


def write_pcap(path: Path, frames: Iterable[bytes], *, linktype: int = LINKTYPE_ETHERNET,
               step_ns: int = 1_000_000) -> Path:
    with path.open("wb") as stream:
        writer = PcapWriter(stream, linktype=linktype)
        for i, frame in enumerate(frames):
            writer.write(T0 + i * step_ns, frame)
    return path


def monitor(*paths: Path) -> tuple[list[MonitorEvent], MonitorSummary]:
    events: list[MonitorEvent] = []
    mon = Monitor(sink=events.append)
    for path in paths:
        mon.read(path)
    return events, mon.finish()


def modbus_fields(events: list[MonitorEvent]) -> list[dict[str, Any]]:
    """The `modbus` part of every protocol event's ECS document, in order."""
    docs = [to_ecs(e) for e in events]
    return [d["modbus"] for d in docs if "modbus" in d]


def anomalies(events: list[MonitorEvent]) -> list[dict[str, Any]]:
    return [d["isthmus"]["anomaly"] | {"message": d["message"]}
            for d in map(to_ecs, events) if "isthmus" in d]


def normalised_jsonl(events: list[MonitorEvent]) -> list[str]:
    """ECS lines with timestamps made relative to T0 (golden files stay stable)."""
    lines = []
    for event in events:
        doc = to_ecs(event)
        doc["@timestamp"] = f"T0+{(event.ts_ns - T0) / 1e9:.6f}s"
        lines.append(json.dumps(doc, sort_keys=True))
    return lines
