"""TCP stream reassembly: per flow and direction, in order, bounded.

Retransmitted data is dropped (first copy wins), overlaps are trimmed, out-of-order
segments wait in a bounded buffer, and a hole that is never filled becomes a *gap* (the
peer acknowledged bytes we never saw, or the buffer bound was hit): the handler is told
how many bytes were lost and the stream continues after them. Flows picked up mid-stream
start at the first data seen. Flows end on FIN from both sides, RST, idle time or table
pressure, so memory stays flat however long the capture.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from isthmus.security.events import FlowKey
from isthmus.security.packets import TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN, Packet

__all__ = ["HalfStream", "Reassembler", "ReassemblyStats", "StreamHandler", "TcpFlow"]


def seq_delta(a: int, b: int) -> int:
    """a − b in 32-bit sequence space (signed, wrap-around safe)."""
    return ((a - b + 0x80000000) & 0xFFFFFFFF) - 0x80000000


@dataclass(slots=True)
class HalfStream:
    """One direction of a TCP connection."""

    next_seq: int | None = None      # next byte expected; None until the first one is seen
    offset: int = 0                  # bytes of stream delivered or skipped so far
    pending: dict[int, bytes] = field(default_factory=dict)
    pending_bytes: int = 0
    fin: bool = False
    mac: str | None = None


@dataclass(slots=True, eq=False)
class TcpFlow:
    """A TCP connection, oriented client → server (known from the handshake, else guessed:
    the lower port is the server's)."""

    client: str
    client_port: int
    server: str
    server_port: int
    handshake: bool
    first_ts: int
    last_ts: int
    to_server: HalfStream = field(default_factory=HalfStream)
    to_client: HalfStream = field(default_factory=HalfStream)
    packets: int = 0
    payload_bytes: int = 0
    app: Any = None               # the stream handler's per-flow state
    raw_keys: list[bytes] = field(default_factory=list)   # its entries in the fast table

    def key(self, to_server: bool) -> FlowKey:
        """The direction as source → destination."""
        if to_server:
            return FlowKey(self.client, self.client_port, self.server, self.server_port)
        return FlowKey(self.server, self.server_port, self.client, self.client_port)


class StreamHandler(Protocol):
    def on_open(self, flow: TcpFlow) -> None: ...

    def on_data(self, flow: TcpFlow, to_server: bool, data: bytes, ts_ns: int) -> None: ...

    def on_gap(self, flow: TcpFlow, to_server: bool, offset: int, missing: int,
               ts_ns: int) -> None: ...

    def on_close(self, flow: TcpFlow, reason: str, ts_ns: int) -> None: ...


@dataclass
class ReassemblyStats:
    flows_opened: int = 0
    closed_fin: int = 0
    closed_rst: int = 0
    evicted_idle: int = 0
    evicted_capacity: int = 0
    closed_at_end: int = 0
    midstream_pickups: int = 0
    retransmitted_segments: int = 0
    overlapping_segments: int = 0
    overlap_conflicts: int = 0       # a retransmission whose bytes differ from the first copy
    out_of_order_segments: int = 0
    gaps: int = 0
    gap_bytes: int = 0
    orphan_packets: int = 0          # no data, no SYN, for a flow we do not track


class Reassembler:
    """Feeds TCP packets in, calls `handler` with in-order data, gaps and closes."""

    def __init__(self, handler: StreamHandler, *, max_flows: int = 100_000,
                 idle_timeout_s: float = 300.0, max_pending_segments: int = 64,
                 max_pending_bytes: int = 256 * 1024) -> None:
        self.handler = handler
        self.max_flows = max_flows
        self.idle_ns = int(idle_timeout_s * 1e9)
        self.max_pending_segments = max_pending_segments
        self.max_pending_bytes = max_pending_bytes
        self.stats = ReassemblyStats()
        self._flows: dict[tuple[str, int, str, int], TcpFlow] = {}   # both directions
        # raw IPv4 addresses + ports (12 bytes, as on the wire) → the flow's direction
        self._fast: dict[bytes, tuple[TcpFlow, bool, HalfStream, HalfStream]] = {}
        self._next_expiry = 0

    @property
    def active_flows(self) -> int:
        return len(self._flows) // 2

    @property
    def fast_entries(self) -> int:
        """Directions reachable by `feed_fast` (at most two per active flow)."""
        return len(self._fast)

    def feed_fast(self, ts: int, raw_key: bytes, seq: int, ack: int, flags: int,
                  payload: bytes) -> bool:
        """The common case without a `Packet`: a segment of a flow already seen under
        `raw_key` (source address, destination address, ports as on the wire), no
        SYN/FIN/RST, exactly in order, nothing buffered, no acknowledged hole. Returns
        False, having done nothing, for anything else: then call `feed`."""
        entry = self._fast.get(raw_key)
        if entry is None or flags & 0x07 or ts >= self._next_expiry:
            return False
        flow, to_server, half, other = entry
        if seq != half.next_seq or half.pending:
            return False
        if flags & TCP_ACK:
            expected = other.next_seq
            if (ack != expected and expected is not None and not other.fin
                    and ((ack - expected + 0x80000000) & 0xFFFFFFFF) > 0x80000000):
                return False
        flow.last_ts = ts
        flow.packets += 1
        if payload:
            size = len(payload)
            flow.payload_bytes += size
            half.next_seq = (seq + size) & 0xFFFFFFFF
            half.offset += size
            self.handler.on_data(flow, to_server, payload, ts)
        return True

    def feed(self, packet: Packet, raw_key: bytes | None = None) -> None:
        """Any TCP packet. `raw_key` (see `feed_fast`) lets later packets of the flow
        take the fast path."""
        ts = packet.ts_ns
        if ts >= self._next_expiry:
            self.expire(ts)
        flow = self._flows.get((packet.src, packet.sport, packet.dst, packet.dport))
        flags = packet.flags
        if flow is None:
            if flags & TCP_RST or not (packet.payload or flags & TCP_SYN):
                self.stats.orphan_packets += 1
                return
            flow = self._open(packet)
        flow.last_ts = ts
        flow.packets += 1
        to_server = packet.src == flow.client and packet.sport == flow.client_port
        half, other = ((flow.to_server, flow.to_client) if to_server
                       else (flow.to_client, flow.to_server))
        seq = packet.seq
        if flags & TCP_SYN:
            half.next_seq = seq = (seq + 1) & 0xFFFFFFFF
        if half.mac is None:
            half.mac = packet.src_mac
        if (flags & TCP_ACK and other.next_seq is not None and not other.fin
                and seq_delta(packet.ack, other.next_seq) > 0):
            self._acked_hole(flow, not to_server, other, packet.ack, ts)
        if packet.payload:
            flow.payload_bytes += len(packet.payload)
            self._segment(flow, to_server, half, seq, packet.payload, ts)
        if raw_key is not None and raw_key not in self._fast:
            flow.raw_keys.append(raw_key)
            self._fast[raw_key] = (flow, to_server, half, other)
        if flags & TCP_FIN and half.next_seq is not None and seq_delta(
                (seq + len(packet.payload)) & 0xFFFFFFFF, half.next_seq) == 0:
            half.fin = True
            half.next_seq = (half.next_seq + 1) & 0xFFFFFFFF
            if other.fin:
                self.stats.closed_fin += 1
                self._close(flow, "fin", ts)
        elif flags & TCP_RST:
            self.stats.closed_rst += 1
            self._close(flow, "rst", ts)

    def expire(self, now_ns: int) -> None:
        """Close flows idle for longer than the timeout (capture time)."""
        self._next_expiry = now_ns + max(self.idle_ns // 10, 1)
        limit = now_ns - self.idle_ns
        for flow in [f for k, f in self._flows.items() if f.client == k[0]
                     and f.client_port == k[1] and f.last_ts < limit]:
            self.stats.evicted_idle += 1
            self._close(flow, "idle", now_ns)

    def flush(self, ts_ns: int) -> None:
        """End of capture: deliver what is buffered and close every flow."""
        for flow in {id(f): f for f in self._flows.values()}.values():
            self.stats.closed_at_end += 1
            self._close(flow, "end", ts_ns)

    # ---- internals ---------------------------------------------------------------------

    def _open(self, packet: Packet) -> TcpFlow:
        if len(self._flows) >= 2 * self.max_flows:
            self._evict_oldest(packet.ts_ns)
        flags = packet.flags
        if flags & TCP_SYN:
            from_client = not flags & TCP_ACK
            handshake = True
        else:
            from_client = packet.sport > packet.dport or (
                packet.sport == packet.dport and packet.src > packet.dst)
            handshake = False
            self.stats.midstream_pickups += 1
        if from_client:
            flow = TcpFlow(packet.src, packet.sport, packet.dst, packet.dport, handshake,
                           packet.ts_ns, packet.ts_ns)
        else:
            flow = TcpFlow(packet.dst, packet.dport, packet.src, packet.sport, handshake,
                           packet.ts_ns, packet.ts_ns)
        self._flows[(flow.client, flow.client_port, flow.server, flow.server_port)] = flow
        self._flows[(flow.server, flow.server_port, flow.client, flow.client_port)] = flow
        self.stats.flows_opened += 1
        self.handler.on_open(flow)
        return flow

    def _evict_oldest(self, ts_ns: int) -> None:
        flows = sorted({id(f): f for f in self._flows.values()}.values(),
                       key=lambda f: f.last_ts)
        for flow in flows[:max(1, len(flows) // 8)]:
            self.stats.evicted_capacity += 1
            self._close(flow, "capacity", ts_ns)

    def _segment(self, flow: TcpFlow, to_server: bool, half: HalfStream, seq: int,
                 data: bytes, ts: int) -> None:
        if half.next_seq is None:                  # picked up mid-stream
            half.next_seq = seq
        ahead = seq_delta(seq, half.next_seq)
        if ahead > 0:
            self._buffer(flow, to_server, half, seq, data, ts)
            return
        if ahead + len(data) <= 0:
            self.stats.retransmitted_segments += 1
            return
        if ahead < 0:
            self.stats.overlapping_segments += 1
            data = data[-ahead:]
        self._deliver(flow, to_server, half, data, ts)
        if half.pending:
            self._drain(flow, to_server, half, ts)

    def _deliver(self, flow: TcpFlow, to_server: bool, half: HalfStream, data: bytes,
                 ts: int) -> None:
        assert half.next_seq is not None
        half.next_seq = (half.next_seq + len(data)) & 0xFFFFFFFF
        half.offset += len(data)
        self.handler.on_data(flow, to_server, data, ts)

    def _buffer(self, flow: TcpFlow, to_server: bool, half: HalfStream, seq: int,
                data: bytes, ts: int) -> None:
        known = half.pending.get(seq)
        if known is not None:
            self.stats.retransmitted_segments += 1
            if not known.startswith(data[:len(known)]):
                self.stats.overlap_conflicts += 1
            if len(data) <= len(known):
                return
            half.pending_bytes -= len(known)
        else:
            self.stats.out_of_order_segments += 1
        half.pending[seq] = bytes(data)
        half.pending_bytes += len(data)
        if (len(half.pending) > self.max_pending_segments
                or half.pending_bytes > self.max_pending_bytes):
            self._skip_to_pending(flow, to_server, half, ts)

    def _drain(self, flow: TcpFlow, to_server: bool, half: HalfStream, ts: int) -> None:
        """Deliver buffered segments that have become contiguous."""
        while half.pending:
            assert half.next_seq is not None
            start = half.next_seq
            seq = min(half.pending, key=lambda s: seq_delta(s, start))
            ahead = seq_delta(seq, start)
            if ahead > 0:
                return
            data = half.pending.pop(seq)
            half.pending_bytes -= len(data)
            if ahead + len(data) <= 0:
                self.stats.retransmitted_segments += 1
                continue
            if ahead < 0:
                self.stats.overlapping_segments += 1
                data = data[-ahead:]
            self._deliver(flow, to_server, half, data, ts)

    def _skip_to_pending(self, flow: TcpFlow, to_server: bool, half: HalfStream,
                         ts: int) -> None:
        """Give up on the hole before the earliest buffered segment."""
        assert half.next_seq is not None
        start = half.next_seq
        seq = min(half.pending, key=lambda s: seq_delta(s, start))
        self._gap(flow, to_server, half, seq_delta(seq, start), ts)
        self._drain(flow, to_server, half, ts)

    def _acked_hole(self, flow: TcpFlow, to_server: bool, half: HalfStream, ack: int,
                    ts: int) -> None:
        """The receiver acknowledged bytes up to `ack` that we never saw: a capture gap."""
        assert half.next_seq is not None
        start = half.next_seq
        missing = seq_delta(ack, start)
        if half.pending:
            first = min(half.pending, key=lambda s: seq_delta(s, start))
            missing = min(missing, seq_delta(first, start))
        if missing > 0:
            self._gap(flow, to_server, half, missing, ts)
        self._drain(flow, to_server, half, ts)

    def _gap(self, flow: TcpFlow, to_server: bool, half: HalfStream, missing: int,
             ts: int) -> None:
        assert half.next_seq is not None
        self.stats.gaps += 1
        self.stats.gap_bytes += missing
        self.handler.on_gap(flow, to_server, half.offset, missing, ts)
        half.offset += missing
        half.next_seq = (half.next_seq + missing) & 0xFFFFFFFF

    def _close(self, flow: TcpFlow, reason: str, ts: int) -> None:
        for to_server, half in ((True, flow.to_server), (False, flow.to_client)):
            while half.pending:
                self._skip_to_pending(flow, to_server, half, ts)
        self._flows.pop((flow.client, flow.client_port, flow.server, flow.server_port), None)
        self._flows.pop((flow.server, flow.server_port, flow.client, flow.client_port), None)
        for raw_key in flow.raw_keys:
            self._fast.pop(raw_key, None)
        flow.raw_keys.clear()
        self.handler.on_close(flow, reason, ts)
