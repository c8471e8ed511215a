"""The passive monitor pipeline: capture files → frames → packets → TCP streams →
dissectors → protocol events and anomalies, feeding the inventory and the communication
map. Nothing here sends a packet.

    monitor = Monitor(sink=print)
    monitor.read(Path("plant.pcap"))
    summary = monitor.finish()
"""

from __future__ import annotations

import collections
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from isthmus.model import Severity
from isthmus.security.capture import Frame, open_capture
from isthmus.security.dissectors.base import Output
from isthmus.security.errors import CaptureFormatError
from isthmus.security.events import Anomaly, ProtocolEvent
from isthmus.security.flows import CommunicationMap
from isthmus.security.inventory import Inventory
from isthmus.security.packets import TCP, Packet, PacketDecoder
from isthmus.security.reassembly import Reassembler, TcpFlow
from isthmus.security.streams import ProtocolStreams

__all__ = ["Monitor", "MonitorEvent", "MonitorSummary", "Progress"]

MonitorEvent = ProtocolEvent | Anomaly


@dataclass(frozen=True, slots=True)
class Progress:
    path: str
    frames: int
    events: int
    elapsed_s: float


@dataclass
class MonitorSummary:
    files: list[str]
    frames: int
    events: int
    anomalies: int
    first_ts: int | None
    last_ts: int | None
    events_by_severity: dict[str, int]
    anomalies_by_reason: dict[str, int]
    functions: dict[str, int]                 # "protocol/function/direction" → count
    decode: dict[str, Any]
    reassembly: dict[str, Any]
    streams: dict[str, Any]
    hosts: list[dict[str, Any]] = field(default_factory=list)
    links: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Monitor:
    """Runs the pipeline; every event and anomaly goes to `sink` as it is found."""

    def __init__(self, *, sink: Callable[[MonitorEvent], None] | None = None,
                 max_flows: int = 100_000, idle_timeout_s: float = 300.0) -> None:
        self._sink = sink
        self.decoder = PacketDecoder()
        self.inventory = Inventory()
        self.comms = CommunicationMap()
        self.streams = ProtocolStreams(self._emit_all, self._flow_closed)
        self.reassembler = Reassembler(self.streams, max_flows=max_flows,
                                       idle_timeout_s=idle_timeout_s)
        self.files: list[str] = []
        self.events = 0
        self.anomalies = 0
        self.first_ts: int | None = None
        self.last_ts: int | None = None
        self._by_severity: collections.Counter[str] = collections.Counter()
        self._by_reason: collections.Counter[str] = collections.Counter()
        self._functions: collections.Counter[str] = collections.Counter()

    def read(self, path: Path, *, progress: Callable[[Progress], None] | None = None,
             progress_every: int = 200_000) -> None:
        """Feed every frame of the capture at `path`. An unreadable file, a truncated or
        corrupt one, becomes an anomaly; the monitor goes on with the next file."""
        self.files.append(str(path))
        started = time.perf_counter()
        try:
            with open_capture(path) as reader:
                for count, frame in enumerate(reader, start=1):
                    self.feed(frame)
                    if progress is not None and count % progress_every == 0:
                        progress(Progress(str(path), count, self.events,
                                          time.perf_counter() - started))
                for anomaly in reader.anomalies:
                    self._emit(anomaly)
        except CaptureFormatError as exc:
            self._emit(Anomaly(self.last_ts or 0, "capture", "unreadable", str(exc),
                               severity=Severity.MEDIUM, source=str(path)))

    def feed(self, frame: Frame) -> None:
        ts = frame.ts_ns
        if self.first_ts is None:
            self.first_ts = ts
        if self.last_ts is None or ts > self.last_ts:
            self.last_ts = ts
        packet = self.decoder.decode(frame)
        if packet is None:
            return
        if type(packet) is Packet:
            if packet.protocol == TCP:
                self.reassembler.feed(packet)
            else:
                self._datagram(packet)
        else:
            assert isinstance(packet, Anomaly)
            packet.source = self.files[-1] if self.files else ""
            self._emit(packet)

    def finish(self) -> MonitorSummary:
        """Close every open flow (delivering what is buffered) and summarise."""
        self.reassembler.flush(self.last_ts or 0)
        return MonitorSummary(
            files=list(self.files), frames=self.decoder.stats.frames, events=self.events,
            anomalies=self.anomalies, first_ts=self.first_ts, last_ts=self.last_ts,
            events_by_severity=dict(self._by_severity),
            anomalies_by_reason=dict(sorted(self._by_reason.items())),
            functions=dict(sorted(self._functions.items())),
            decode=asdict(self.decoder.stats), reassembly=asdict(self.reassembler.stats),
            streams=asdict(self.streams.stats), hosts=self.inventory.to_list(),
            links=self.comms.to_list())

    # ---- internals ---------------------------------------------------------------------

    def _emit_all(self, out: Output) -> None:
        for event in out:
            self._emit(event)

    def _emit(self, event: MonitorEvent) -> None:
        self._by_severity[event.severity.name.lower()] += 1
        if isinstance(event, Anomaly):
            self.anomalies += 1
            self._by_reason[f"{event.layer}/{event.reason}"] += 1
        else:
            self.events += 1
            function = str(getattr(event, "function", event.operation))
            self._functions[f"{event.protocol}/{function}/{event.direction}"] += 1
            self.inventory.observe(event)
            self.comms.observe(event, function)
        if self._sink is not None:
            self._sink(event)

    def _datagram(self, packet: Packet) -> None:
        ts = packet.ts_ns
        self.inventory.saw(packet.src, ts, packet.src_mac)
        self.inventory.saw(packet.dst, ts)
        server_is_dst = packet.dport <= packet.sport
        client, server = (packet.src, packet.dst) if server_is_dst else (packet.dst, packet.src)
        self.comms.observe_transport(client, server, "udp",
                                     packet.dport if server_is_dst else packet.sport,
                                     first_ns=ts, last_ns=ts,
                                     payload_bytes=len(packet.payload))

    def _flow_closed(self, flow: TcpFlow, protocol: str | None) -> None:
        for ip, mac in ((flow.client, flow.to_server.mac), (flow.server, flow.to_client.mac)):
            self.inventory.saw(ip, flow.first_ts, mac)
            self.inventory.saw(ip, flow.last_ts)
        if protocol is None:
            self.comms.observe_transport(flow.client, flow.server, "tcp", flow.server_port,
                                         first_ns=flow.first_ts, last_ns=flow.last_ts,
                                         payload_bytes=flow.payload_bytes)
