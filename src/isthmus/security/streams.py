"""From reassembled TCP streams to protocol events: pick a dissector for each connection
(its well-known port, else the content of its first bytes), feed it the stream, turn gaps
into anomalies and resynchronise the dissector after them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from isthmus.model import Severity
from isthmus.security.dissectors import DISSECTORS, Dissector, DissectorSession, Match, by_port
from isthmus.security.dissectors.base import Output
from isthmus.security.events import Anomaly
from isthmus.security.reassembly import TcpFlow

__all__ = ["ProtocolStreams", "StreamStats"]

_PROBE_BYTES = 4096        # first bytes (both directions) examined to recognise a protocol
_PROBE_CHUNKS = 16


@dataclass(slots=True)
class _AppState:
    midstream: bool
    session: DissectorSession | None = None
    protocol: str | None = None
    probe: list[tuple[bool, bytes, int]] = field(default_factory=list)
    probe_bytes: int = 0
    unknown: bool = False


@dataclass
class StreamStats:
    recognised_by_port: int = 0
    recognised_by_content: int = 0
    unrecognised: int = 0


class ProtocolStreams:
    """The reassembler's `StreamHandler`: dissects each connection, sends what comes out
    (protocol events and anomalies) to `emit`, and calls `closed` for each ended flow."""

    def __init__(self, emit: Callable[[Output], None],
                 closed: Callable[[TcpFlow, str | None], None],
                 dissectors: tuple[Dissector, ...] = DISSECTORS) -> None:
        self._emit = emit
        self._closed = closed
        self._dissectors = dissectors
        self.stats = StreamStats()

    def on_open(self, flow: TcpFlow) -> None:
        state = _AppState(midstream=not flow.handshake)
        flow.app = state
        dissector = by_port(flow.server_port)
        if dissector is not None and dissector in self._dissectors:
            self.stats.recognised_by_port += 1
            self._start(flow, state, dissector)

    def on_data(self, flow: TcpFlow, to_server: bool, data: bytes, ts_ns: int) -> None:
        state: _AppState = flow.app
        if state.session is not None:
            out = state.session.parse(data, to_server=to_server, ts_ns=ts_ns)
            if out:
                self._emit(out)
        elif not state.unknown:
            state.probe.append((to_server, data, ts_ns))
            state.probe_bytes += len(data)
            self._recognise(flow, state)

    def on_gap(self, flow: TcpFlow, to_server: bool, offset: int, missing: int,
               ts_ns: int) -> None:
        state: _AppState = flow.app
        out: Output = [Anomaly(ts_ns, "tcp", "gap", f"{missing} bytes missing from the "
                               "capture; the stream resumes after them", offset,
                               flow.key(to_server), Severity.LOW)]
        if state.session is not None:
            out.extend(state.session.gap(to_server=to_server, missing=missing, ts_ns=ts_ns))
        elif not state.unknown:                    # still probing: start over, mid-stream
            state.probe = [c for c in state.probe if c[0] != to_server]
            state.midstream = True
        self._emit(out)

    def on_close(self, flow: TcpFlow, reason: str, ts_ns: int) -> None:
        state: _AppState = flow.app
        if state.session is None and not state.unknown:
            self.stats.unrecognised += 1
        self._closed(flow, state.protocol)
        flow.app = None

    # ---- recognition -------------------------------------------------------------------

    def _recognise(self, flow: TcpFlow, state: _AppState) -> None:
        to_server = b"".join(d for s, d, _ in state.probe if s)
        to_client = b"".join(d for s, d, _ in state.probe if not s)
        undecided = False
        for dissector in self._dissectors:
            verdict = dissector.match(to_server, to_client, midstream=state.midstream)
            if verdict is Match.YES:
                self.stats.recognised_by_content += 1
                probe, state.probe, state.probe_bytes = state.probe, [], 0
                session = self._start(flow, state, dissector)
                for chunk_to_server, data, ts in probe:         # replay in arrival order
                    out = session.parse(data, to_server=chunk_to_server, ts_ns=ts)
                    if out:
                        self._emit(out)
                return
            undecided = undecided or verdict is Match.MAYBE
        if (not undecided or state.probe_bytes > _PROBE_BYTES
                or len(state.probe) > _PROBE_CHUNKS):
            state.unknown = True
            state.probe, state.probe_bytes = [], 0
            self.stats.unrecognised += 1

    def _start(self, flow: TcpFlow, state: _AppState,
               dissector: Dissector) -> DissectorSession:
        state.session = dissector.session(flow.key(True), midstream=state.midstream)
        state.protocol = dissector.name
        return state.session
