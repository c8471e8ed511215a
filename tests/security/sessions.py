"""Runs a conversation of (to_server, bytes) through a registered dissector's session, or
through the whole monitor as a generated capture."""

from __future__ import annotations

from pathlib import Path

from isthmus.security.craft import Endpoint, TcpConversation
from isthmus.security.dissectors import Output, by_name
from isthmus.security.dissectors.message_event import MessageEvent
from isthmus.security.events import Anomaly, FlowKey
from isthmus.security.monitor import MonitorEvent, MonitorSummary
from tests.security.loopback import RawCapture, tcp_port
from tests.security.traffic import monitor, write_pcap

KEY = FlowKey("10.20.0.2", 40000, "10.20.0.1", 9999)
CLIENT = Endpoint("10.20.0.2", 40000, "02:00:00:00:00:12")


def dialogue(protocol: str, messages: list[tuple[bool, bytes]], *,
             midstream: bool = False) -> Output:
    session = by_name(protocol).session(KEY, midstream=midstream)
    out: Output = []
    for ts, (to_server, data) in enumerate(messages):
        out += session.parse(data, to_server=to_server, ts_ns=ts)
    return out


def events(out: Output) -> list[MessageEvent]:
    """The events of `out`, after checking it holds no anomaly."""
    assert not [e for e in out if isinstance(e, Anomaly)], out
    return [e for e in out if isinstance(e, MessageEvent)]


def functions(out: Output) -> list[tuple[str, str]]:
    return [(e.function, e.direction) for e in events(out)]


def anomalies(out: Output) -> list[Anomaly]:
    return [e for e in out if isinstance(e, Anomaly)]


def captured(tmp_path: Path, messages: list[tuple[bool, bytes]], *, port: int,
             handshake: bool = True) -> tuple[list[MonitorEvent], MonitorSummary]:
    """The monitor's output for the conversation sent to 10.20.0.1:`port` over TCP."""
    conv = TcpConversation(CLIENT, Endpoint("10.20.0.1", port, "02:00:00:00:00:11"))
    frames = conv.handshake() if handshake else []
    if not handshake:
        conv.next_seq[True] += 1
        conv.next_seq[False] += 1
    frames += [conv.send(to_server, data) for to_server, data in messages]
    frames += conv.close()
    return monitor(write_pcap(tmp_path / "c.pcap", frames))


class PortCapture(RawCapture):
    """Frames on `lo` whose TCP source or destination port is `port` (any 127.x address)."""

    def __init__(self, port: int) -> None:
        super().__init__(tcp_port(port))
