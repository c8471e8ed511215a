"""Properties every message-framed dissector (OPC UA, MQTT, HL7, DICOM, the IT protocols)
shares: the same events however the stream is cut into segments, resynchronisation after
a gap, anomalies with stream offsets, and recognition by content on any port."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from isthmus.security.dissectors import Match, by_name
from isthmus.security.events import Anomaly
from tests.security.samples import TCP_SESSIONS
from tests.security.sessions import KEY, captured, dialogue, events

PROTOCOLS = sorted(TCP_SESSIONS)


def _whole(protocol: str) -> list[tuple[str, str, int]]:
    return [(e.function, e.direction, e.offset)
            for e in events(dialogue(protocol, TCP_SESSIONS[protocol]))]


@pytest.mark.parametrize("protocol", PROTOCOLS)
@settings(max_examples=25, deadline=None)
@given(cuts=st.lists(st.integers(1, 400), max_size=8))
def test_segmentation_does_not_change_the_events(protocol: str, cuts: list[int]) -> None:
    pieces: list[tuple[bool, bytes]] = []
    for to_server, data in TCP_SESSIONS[protocol]:
        points = sorted({c % len(data) for c in cuts} | {0, len(data)})
        pieces += [(to_server, data[a:b]) for a, b in itertools.pairwise(points)]
    split = [(e.function, e.direction, e.offset) for e in events(dialogue(protocol, pieces))]
    assert split == _whole(protocol)


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_each_protocol_is_recognised_by_content_on_an_unusual_port(protocol: str,
                                                                   tmp_path: Path) -> None:
    out, summary = captured(tmp_path, TCP_SESSIONS[protocol], port=31337)
    assert summary.streams["recognised_by_content"] == 1
    protocols = {getattr(e, "protocol", None) for e in out if not isinstance(e, Anomaly)}
    assert protocols == {protocol}


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_each_matcher_refuses_the_other_protocols(protocol: str) -> None:
    dissector = by_name(protocol)
    for other, messages in TCP_SESSIONS.items():
        if other == protocol:
            continue
        up = b"".join(d for s, d in messages if s)
        down = b"".join(d for s, d in messages if not s)
        assert dissector.match(up, down, midstream=False) is not Match.YES, other


@pytest.mark.parametrize("protocol", ["mqtt", "opcua", "hl7", "dicom", "smb", "http", "dns"])
def test_a_gap_resynchronises_on_the_next_message(protocol: str) -> None:
    messages = [(s, d) for s, d in TCP_SESSIONS[protocol] if s]
    session = by_name(protocol).session(KEY, midstream=False)
    session.parse(messages[0][1][:5], to_server=True, ts_ns=0)
    session.gap(to_server=True, missing=17, ts_ns=1)
    out = []
    for data in (d for _, d in messages[1:]) if len(messages) > 1 else [messages[0][1]]:
        out += session.parse(data, to_server=True, ts_ns=2)
    assert [e for e in out if not isinstance(e, Anomaly)], out


@pytest.mark.parametrize("protocol", ["mqtt", "opcua", "hl7", "dicom", "tls", "smb", "dns"])
def test_garbage_between_messages_is_an_anomaly_with_its_offset(protocol: str) -> None:
    first = next(d for s, d in TCP_SESSIONS[protocol] if s)
    out = dialogue(protocol, [(True, first), (True, b"\xee" * 9), (True, first)])
    problems = [e for e in out if isinstance(e, Anomaly)]
    assert problems and len(first) <= (problems[0].offset or 0) <= len(first) + 4
    assert problems[0].layer == protocol
    assert len(events([e for e in out if not isinstance(e, Anomaly)])) == 2


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_a_huge_length_never_makes_the_session_buffer_it(protocol: str) -> None:
    session = by_name(protocol).session(KEY, midstream=False)
    first = next(d for s, d in TCP_SESSIONS[protocol] if s)
    session.parse(first[:4] + b"\xff" * 12, to_server=True, ts_ns=0)
    for _ in range(8):
        session.parse(b"\x00" * 65536, to_server=True, ts_ns=1)
    buffered = getattr(session, "_buf", [b"", b""])
    assert max(len(b) for b in buffered) <= 16 << 20
