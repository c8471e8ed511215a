"""Scenario captures for the detection tests: Modbus/TCP conversations with chosen
timestamps, written with our pcap writer, and stand-in events for protocols whose
dissectors are not part of this slice."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from isthmus.model import Severity
from isthmus.security import Monitor, MonitorEvent
from isthmus.security.capture import PcapWriter
from isthmus.security.craft import Endpoint, TcpConversation
from isthmus.security.detect import Alert, Baseline, Detector
from isthmus.security.events import FlowKey, ProtocolEvent
from tests.security.traffic import adu

T0 = 1_764_000_000_000_000_000
PLC = Endpoint("10.10.0.1", 502, "02:00:00:00:00:01")
HMI = Endpoint("10.10.0.2", 49152, "02:00:00:00:00:02")
EWS = Endpoint("10.10.0.3", 50000, "02:00:00:00:00:03")
INTRUDER = Endpoint("10.10.0.66", 51000, "02:00:00:00:00:66")
SECOND = 1_000_000_000


def read(address: int = 0, count: int = 2, fc: int = 3) -> tuple[bytes, bytes]:
    data = bytes(count * 2)
    return struct.pack(">BHH", fc, address, count), bytes([fc, len(data)]) + data


def write_register(address: int, value: int) -> tuple[bytes, bytes]:
    pdu = struct.pack(">BHH", 6, address, value)
    return pdu, pdu


def write_coil(address: int, on: bool = True) -> tuple[bytes, bytes]:
    pdu = struct.pack(">BHH", 5, address, 0xFF00 if on else 0)
    return pdu, pdu


def umas(code: int, data: bytes = b"") -> tuple[bytes, bytes]:
    return bytes([90, 0, code]) + data, bytes([90, 0, 0xFE])


def diagnostics(sub: int) -> tuple[bytes, bytes]:
    pdu = struct.pack(">BHH", 8, sub, 0)
    return pdu, pdu


def device_id() -> tuple[bytes, bytes]:
    return bytes([0x2B, 0x0E, 0x01, 0x00]), bytes([0x2B, 0x0E, 0x01, 0x01, 0, 0, 1, 0, 4]) \
        + b"Acme"


def exception(fc: int = 3, code: int = 2) -> tuple[bytes, bytes]:
    return struct.pack(">BHH", fc, 0x7000, 1), bytes([fc | 0x80, code])


class Scenario:
    """Modbus exchanges of several conversations, each at a chosen time (seconds after
    `start_s`). Frames are made in time order when written, so TCP sequence numbers
    follow the time stamps whatever order the exchanges were added in."""

    def __init__(self, start_s: float = 0.0) -> None:
        self.start_ns = T0 + int(start_s * SECOND)
        self.exchanges: list[tuple[int, int, Endpoint, Endpoint, int, tuple[bytes, bytes]]] = []

    def exchange(self, t_s: float, pdus: tuple[bytes, bytes], *, client: Endpoint = HMI,
                 server: Endpoint = PLC, unit: int = 1) -> None:
        ts = self.start_ns + int(t_s * SECOND)
        self.exchanges.append((ts, len(self.exchanges), client, server, unit, pdus))

    def until(self, t_s: float) -> None:
        """Drop every exchange at or after `t_s`."""
        end = self.start_ns + int(t_s * SECOND)
        self.exchanges = [e for e in self.exchanges if e[0] < end]

    def polls(self, start_s: float, end_s: float, *, period_s: float = 1.0,
              client: Endpoint = HMI, server: Endpoint = PLC) -> None:
        """The plant's normal polling: two blocks every period."""
        t = start_s
        while t < end_s:
            self.exchange(t, read(0, 10), client=client, server=server)
            self.exchange(t + 0.01, read(100, 4, fc=4), client=client, server=server)
            t += period_s

    def frames(self) -> list[tuple[int, bytes]]:
        convs: dict[tuple[str, str, int], TcpConversation] = {}
        out: list[tuple[int, bytes]] = []
        for tid, (ts, _, client, server, unit, (request, response)) in enumerate(
                sorted(self.exchanges, key=lambda e: (e[0], e[1])), start=1):
            key = (client.ip, server.ip, client.port)
            conv = convs.get(key)
            if conv is None:
                conv = convs[key] = TcpConversation(client, server)
                out += [(ts, frame) for frame in conv.handshake()]
            out.append((ts, conv.send(True, adu(tid & 0xFFFF, unit, request))))
            out.append((ts + 100_000, conv.send(False, adu(tid & 0xFFFF, unit, response))))
        return out

    def write(self, path: Path) -> Path:
        with path.open("wb") as stream:
            writer = PcapWriter(stream)
            for ts, frame in sorted(self.frames(), key=lambda f: f[0]):
                writer.write(ts, frame)
        return path


def benign(start_s: float = 0.0, seconds: float = 60.0) -> Scenario:
    """An HMI polling a PLC every second, an engineering workstation writing a setpoint
    (register 8, 100–500) every 10 s."""
    scenario = Scenario(start_s)
    scenario.polls(0, seconds)
    for i, t in enumerate(range(5, int(seconds), 10)):
        scenario.exchange(t + 0.5, write_register(8, 100 + (i * 97) % 400), client=EWS)
    return scenario


def run(path: Path, detector: Detector) -> tuple[list[Alert], list[MonitorEvent]]:
    events: list[MonitorEvent] = []
    monitor = Monitor(sink=events.append, detector=detector)
    monitor.read(path)
    monitor.finish()
    return [e for e in events if isinstance(e, Alert)], events


def baseline_of(path: Path) -> Baseline:
    """What a learning detector learns from the capture at `path`."""
    detector = Detector(learn=True)
    run(path, detector)
    return detector.learned()


def fired(alerts: list[Alert]) -> set[str]:
    return {a.rule_id for a in alerts}


@dataclass
class StandIn(ProtocolEvent):
    """A protocol event of a dissector outside this slice (DNP3, RDP, BACnet …): the
    fields the engine reads, as a dissector would set them."""

    function: str = ""
    unit_id: int | None = None
    address: int | None = None
    quantity: int | None = None
    values: list[Any] | None = None
    exception: str | None = None


def stand_in(t_s: float, protocol: str, operation: str, *, src: str, dst: str,
             direction: str = "request", function: str = "", sport: int = 40000,
             dport: int = 20000, transport: str = "tcp", **fields: Any) -> StandIn:
    return StandIn(T0 + int(t_s * SECOND), FlowKey(src, sport, dst, dport, transport),
                   protocol, direction, operation, Severity.INFO, 20,
                   function or operation, **fields)


def drive(detector: Detector, events: list[StandIn]) -> list[Alert]:
    alerts: list[Alert] = []
    for event in events:
        alerts.extend(detector.observe(event))
    alerts.extend(detector.finish())
    return alerts
