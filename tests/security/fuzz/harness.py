"""Drives any registered dissector with arbitrary input and checks the contract: no
exception, only events and anomalies out, events in the operation vocabulary and
serialisable. Used by the fuzz target and by the replay of kept crashing inputs."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from isthmus.security import to_ecs
from isthmus.security.dissectors import DISSECTORS, Output
from isthmus.security.dissectors.registry import DATAGRAM_DISSECTORS
from isthmus.security.events import Anomaly, FlowKey, ProtocolEvent
from isthmus.security.operations import OPERATIONS

KEY = FlowKey("10.0.0.2", 40000, "10.0.0.1", 9999)
REGRESSIONS = Path(__file__).parent / "regressions"
TCP_NAMES = [d.name for d in DISSECTORS]
UDP_NAMES = [d.name for d in DATAGRAM_DISSECTORS]


@dataclass
class Case:
    """One input: chunks of (to_server, bytes, bytes lost before it) for a TCP dissector,
    or datagrams for a UDP one."""

    protocol: str
    transport: str
    midstream: bool
    chunks: list[tuple[bool, bytes, int]]

    def to_json(self) -> str:
        return json.dumps({"protocol": self.protocol, "transport": self.transport,
                           "midstream": self.midstream,
                           "chunks": [[s, d.hex(), g] for s, d, g in self.chunks]}, indent=1)

    @classmethod
    def from_json(cls, text: str) -> Case:
        raw: dict[str, Any] = json.loads(text)
        return cls(raw["protocol"], raw["transport"], raw["midstream"],
                   [(bool(s), bytes.fromhex(d), int(g)) for s, d, g in raw["chunks"]])


def check(out: Output) -> None:
    assert isinstance(out, list), out
    for item in out:
        if isinstance(item, Anomaly):
            json.dumps(to_ecs(item))
            continue
        assert isinstance(item, ProtocolEvent), item
        assert item.operation in OPERATIONS, item.operation
        json.dumps(to_ecs(item))
        assert isinstance(item.summary(), str)
        identity = item.device_identity()
        assert identity is None or all(isinstance(v, str) for v in identity.values())


def run(case: Case) -> int:
    """Feed the case to its dissector; the number of events and anomalies out."""
    count = 0
    if case.transport == "udp":
        udp = next(d for d in DATAGRAM_DISSECTORS if d.name == case.protocol)
        for to_server, data, _gap in case.chunks:
            flow = KEY if to_server else KEY.reversed()
            udp.match_datagram(data)
            out = udp.parse_datagram(data, flow, 1)
            check(out)
            count += len(out)
        return count
    tcp = next(d for d in DISSECTORS if d.name == case.protocol)
    ups = b"".join(d for s, d, _ in case.chunks if s)
    downs = b"".join(d for s, d, _ in case.chunks if not s)
    for size in (1, 7, 64, len(ups) + len(downs)):
        tcp.match(ups[:size], downs[:size], midstream=case.midstream)
    session = tcp.session(KEY, midstream=case.midstream)
    for ts, (to_server, data, gap) in enumerate(case.chunks):
        if gap:
            out = session.gap(to_server=to_server, missing=gap, ts_ns=ts)
            check(out)
            count += len(out)
        out = session.parse(data, to_server=to_server, ts_ns=ts)
        check(out)
        count += len(out)
    return count


def save(case: Case) -> Path:
    """Keep a crashing input as a regression case (named by its content)."""
    import hashlib

    text = case.to_json()
    name = f"{case.protocol}-{hashlib.sha256(text.encode()).hexdigest()[:12]}.json"
    REGRESSIONS.mkdir(exist_ok=True)
    path = REGRESSIONS / name
    path.write_text(text + "\n")
    return path
