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
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from isthmus.model import Severity
from isthmus.security.capture import LINKTYPE_ETHERNET, Frame, PcapReader, open_capture
from isthmus.security.datagrams import dissect_datagram
from isthmus.security.detect.alert import Alert
from isthmus.security.detect.engine import Detector
from isthmus.security.dissectors.base import Output
from isthmus.security.errors import CaptureFormatError
from isthmus.security.events import Anomaly, FlowKey, ProtocolEvent
from isthmus.security.flows import CommunicationMap, Link
from isthmus.security.inventory import Host, Inventory
from isthmus.security.packets import FAST_HEADERS, TCP, Packet, PacketDecoder
from isthmus.security.reassembly import Reassembler, TcpFlow
from isthmus.security.streams import ProtocolStreams

__all__ = ["Monitor", "MonitorEvent", "MonitorSummary", "Progress"]

MonitorEvent = ProtocolEvent | Anomaly | Alert


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
    capture: dict[str, Any] = field(default_factory=dict)   # live capture: iface, drops
    alerts: dict[str, Any] = field(default_factory=dict)    # detection: by rule, severity

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(slots=True)
class _Tally:
    """What one kind of protocol event (flow direction, protocol, function, direction,
    operation, severity) updates: cached so that an event costs a few integer updates.
    Its counts, bytes and times reach the function and severity counters, the hosts and
    the link when `_fold` runs (at `finish`, or when the tallies are many)."""

    flow: FlowKey                    # held, so that its id stays its own (the tally key)
    client: Host
    server: Host
    link: Link
    function_key: str
    request: bool
    severity: Severity
    operation: str
    first_ts: int
    last_ts: int
    identified: Host | None = None   # the host its messages may identify, if any
    count: int = 0                   # events not yet folded (see `_fold`)
    bytes: int = 0


_MAX_TALLIES = 65536
_MAX_UDP_KEYS = 65536
_TallyKey = tuple[int, str, object, str, str, Severity]


class Monitor:
    """Runs the pipeline; every event and anomaly goes to `sink` as it is found.

    `fast_path=False` sends every frame through the general decoder and reassembler (the
    reference the fast path is tested against); the results are the same either way."""

    def __init__(self, *, sink: Callable[[MonitorEvent], None] | None = None,
                 max_flows: int = 100_000, idle_timeout_s: float = 300.0,
                 fast_path: bool = True, detector: Detector | None = None) -> None:
        self._sink = sink
        self._detect: Callable[[ProtocolEvent], Sequence[Alert]] | None = None
        self.detector = detector         # sees every protocol event; its alerts go to sink
        self.alerts = 0
        self.fast_path = fast_path
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
        self._severities = [0] * (max(Severity) + 1)
        self._severity_order: list[Severity] = []
        self._by_reason: collections.Counter[str] = collections.Counter()
        self._functions: collections.Counter[str] = collections.Counter()
        self._tallies: dict[_TallyKey, _Tally] = {}
        self._udp_keys: dict[tuple[str, int, str, int], FlowKey] = {}

    @property
    def detector(self) -> Detector | None:
        return self._detector

    @detector.setter
    def detector(self, detector: Detector | None) -> None:
        self._detector = detector
        self._detect = detector.observe if detector is not None else None

    def read(self, path: Path, *, progress: Callable[[Progress], None] | None = None,
             progress_every: int = 200_000) -> None:
        """Feed every frame of the capture at `path`. An unreadable file, a truncated or
        corrupt one, becomes an anomaly; the monitor goes on with the next file."""
        self.files.append(str(path))
        started = time.perf_counter()

        def report(count: int) -> None:
            if progress is not None:
                progress(Progress(str(path), count, self.events, time.perf_counter() - started))

        try:
            with open_capture(path) as reader:
                if isinstance(reader, PcapReader):
                    self._read_pcap(reader, report, progress_every)
                else:
                    for count, frame in enumerate(reader, start=1):
                        self.feed(frame)
                        if count % progress_every == 0:
                            report(count)
                for anomaly in reader.anomalies:
                    self._emit(anomaly)
        except CaptureFormatError as exc:
            self._emit(Anomaly(self.last_ts or 0, "capture", "unreadable", str(exc),
                               severity=Severity.MEDIUM, source=str(path)))

    def feed(self, frame: Frame, raw_key: bytes | None = None) -> None:
        """One frame through the general path. `raw_key` (the frame's IPv4 addresses and
        TCP ports as on the wire) lets the flow's next segments take the fast path."""
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
                self.reassembler.feed(packet, raw_key)
            else:
                self._datagram(packet)
        else:
            assert isinstance(packet, Anomaly)
            packet.source = self.files[-1] if self.files else ""
            self._emit(packet)

    def finish(self) -> MonitorSummary:
        """Close every open flow (delivering what is buffered) and summarise."""
        self.reassembler.flush(self.last_ts or 0)
        for anomaly in self.decoder.flush_fragments(self.last_ts or 0):
            anomaly.source = self.files[-1] if self.files else ""
            self._emit(anomaly)
        if self.detector is not None:
            for alert in self.detector.finish(self.last_ts):
                self._alert(alert)
        self._fold()
        return MonitorSummary(
            files=list(self.files), frames=self.decoder.stats.frames, events=self.events,
            anomalies=self.anomalies, first_ts=self.first_ts, last_ts=self.last_ts,
            events_by_severity={s.name.lower(): self._severities[s]
                                for s in self._severity_order},
            anomalies_by_reason=dict(sorted(self._by_reason.items())),
            functions=dict(sorted(self._functions.items())),
            decode=asdict(self.decoder.stats), reassembly=asdict(self.reassembler.stats),
            streams=asdict(self.streams.stats), hosts=self.inventory.to_list(),
            alerts=self._alert_summary(), links=self.comms.to_list())

    # ---- the hot loop ------------------------------------------------------------------

    def _read_pcap(self, reader: PcapReader, report: Callable[[int], None],
                   progress_every: int) -> None:
        """Every record of a pcap file. Ethernet/IPv4 (no options)/TCP segments that arrive
        in order on a known flow skip the `Frame` and `Packet` objects and the general
        decoder (`Reassembler.feed_fast`); anything else goes through `feed`."""
        linktype = reader.linktype
        fast = self.fast_path and linktype == LINKTYPE_ETHERNET
        unpack = FAST_HEADERS.unpack_from
        min_size = FAST_HEADERS.size
        feed_fast = self.reassembler.feed_fast
        fast_frames = count = 0
        next_report = progress_every
        try:
            for ts, data, orig_len, offset in reader.records():
                count += 1
                if count == next_report:
                    report(count)
                    next_report += progress_every
                if fast and len(data) >= min_size:
                    ethertype, vihl, total, frag, proto, seq, ack, doff, flags = unpack(data)
                    end = 14 + total
                    start = 34 + (doff >> 4) * 4
                    if (ethertype == 0x0800 and vihl == 0x45 and proto == TCP
                            and not frag & 0x3FFF and doff >= 0x50 and start <= end <= len(data)):
                        raw_key = data[26:38]
                        last = self.last_ts
                        if (last is not None and ts >= last
                                and feed_fast(ts, raw_key, seq, ack, flags, data[start:end])):
                            self.last_ts = ts
                            fast_frames += 1
                            continue
                        self.feed(Frame(ts, linktype, data, orig_len, offset), raw_key)
                        continue
                self.feed(Frame(ts, linktype, data, orig_len, offset))
        finally:
            self.decoder.stats.frames += fast_frames
            self.decoder.stats.tcp += fast_frames

    # ---- internals ---------------------------------------------------------------------

    def _emit_all(self, out: Output) -> None:
        """Count each event, update the inventory and the communication map, pass it on
        (the per-event path: the per-kind work is cached in a `_Tally`, found by the
        identity of the event's flow key, which a session reuses for all its events)."""
        tallies = self._tallies
        sink = self._sink
        detect = self._detect
        for event in out:
            if isinstance(event, Anomaly):
                self._emit(event)
                continue
            self.events += 1
            flow = event.flow
            key = (id(flow), event.protocol, getattr(event, "function", None),
                   event.direction, event.operation, event.severity)
            tally = tallies.get(key)
            if tally is None:
                tally = self._tally(event, key)
            tally.count += 1
            tally.bytes += event.length
            ts = event.ts_ns
            if ts > tally.last_ts:
                tally.last_ts = ts
            elif ts < tally.first_ts:
                tally.first_ts = ts
            host = tally.identified
            if host is not None:
                identity = event.device_identity()
                if identity:
                    host.identity.update(identity)
            if sink is not None:
                sink(event)
            if detect is not None:
                alerts = detect(event)
                if alerts:
                    for alert in alerts:
                        self._alert(alert)

    def _alert(self, alert: Alert) -> None:
        self.alerts += 1
        self._count_severity(alert.severity, 1)
        if self._sink is not None:
            self._sink(alert)

    def _alert_summary(self) -> dict[str, Any]:
        if self.detector is None:
            return {}
        return {"total": self.alerts, "mode": self.detector.mode,
                "by_rule": dict(sorted(self.detector.by_rule.items())),
                "by_severity": dict(sorted(self.detector.by_severity.items()))}

    def _emit(self, event: MonitorEvent) -> None:
        if isinstance(event, Alert):
            self._alert(event)
            return
        if not isinstance(event, Anomaly):
            self._emit_all([event])
            return
        self._count_severity(event.severity, 1)
        self.anomalies += 1
        self._by_reason[f"{event.layer}/{event.reason}"] += 1
        if self._sink is not None:
            self._sink(event)

    def _count_severity(self, severity: Severity, count: int) -> None:
        if severity not in self._severity_order:
            self._severity_order.append(severity)
        self._severities[severity] += count

    def _fold(self) -> None:
        """Move the tallies' counts into the function and severity counters, the links'
        request, response and byte counts, the clients' operations and the first and
        last seen times of hosts and links."""
        for tally in self._tallies.values():
            count = tally.count
            if not count:
                continue
            self._functions[tally.function_key] += count
            self._severities[tally.severity] += count
            link = tally.link
            if tally.request:
                link.requests += count
                operations = tally.client.operations
                operations[tally.operation] = operations.get(tally.operation, 0) + count
            else:
                link.responses += count
            link.bytes += tally.bytes
            first, last = tally.first_ts, tally.last_ts
            for seen in (tally.client, tally.server, link):
                if last > seen.last_seen:
                    seen.last_seen = last
                if first < seen.first_seen:
                    seen.first_seen = first
            tally.count = tally.bytes = 0

    def _tally(self, event: ProtocolEvent, key: _TallyKey) -> _Tally:
        flow, ts = event.flow, event.ts_ns
        function = str(getattr(event, "function", event.operation))
        self._count_severity(event.severity, 0)          # first seen: keep the order
        request = event.direction == "request"
        client, server = (flow.src, flow.dst) if request else (flow.dst, flow.src)
        client_host = self.inventory.saw(client, ts)
        server_host = self.inventory.saw(server, ts)
        client_host.client_of.add(event.protocol)
        server_host.server_of.add(event.protocol)
        if request:
            client_host.servers.add(server)
        link = self.comms.link(client, server, event.protocol, function, ts)
        if len(self._tallies) >= _MAX_TALLIES:
            self._fold()
            self._tallies.clear()
        tally = self._tallies[key] = _Tally(
            flow, client_host, server_host, link,
            f"{event.protocol}/{function}/{event.direction}", request, event.severity,
            event.operation, ts, ts)
        if request and getattr(event, "identifies_sender", False):
            tally.identified = client_host
        elif not request and event.may_identify_server():    # by the contract
            tally.identified = server_host
        return tally

    def _datagram(self, packet: Packet) -> None:
        ts = packet.ts_ns
        self.inventory.saw(packet.src, ts, packet.src_mac)
        self.inventory.saw(packet.dst, ts)
        out = dissect_datagram(packet.payload, self._udp_key(packet), ts)
        if out is not None:
            self._emit_all(out)              # the events' links replace the transport one
            return
        server_is_dst = packet.dport <= packet.sport
        client, server = (packet.src, packet.dst) if server_is_dst else (packet.dst, packet.src)
        self.comms.observe_transport(client, server, "udp",
                                     packet.dport if server_is_dst else packet.sport,
                                     first_ns=ts, last_ns=ts,
                                     payload_bytes=len(packet.payload))

    def _udp_key(self, packet: Packet) -> FlowKey:
        """One `FlowKey` object per UDP direction, as TCP sessions keep one: the per-event
        caches (`_Tally`, the detector's plans) are found by its identity."""
        endpoints = (packet.src, packet.sport, packet.dst, packet.dport)
        key = self._udp_keys.get(endpoints)
        if key is None:
            if len(self._udp_keys) >= _MAX_UDP_KEYS:
                self._udp_keys.clear()
            key = self._udp_keys[endpoints] = FlowKey(*endpoints, "udp")
        return key

    def _flow_closed(self, flow: TcpFlow, protocol: str | None) -> None:
        for ip, mac in ((flow.client, flow.to_server.mac), (flow.server, flow.to_client.mac)):
            self.inventory.saw(ip, flow.first_ts, mac)
            self.inventory.saw(ip, flow.last_ts)
        if protocol is None:
            self.comms.observe_transport(flow.client, flow.server, "tcp", flow.server_port,
                                         first_ns=flow.first_ts, last_ns=flow.last_ts,
                                         payload_bytes=flow.payload_bytes)
