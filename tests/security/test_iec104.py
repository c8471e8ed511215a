"""The IEC 60870-5-104 dissector: U, S and I frames, commands with their values, system
commands, monitor data, pairing of confirmations, recognition by content, mid-stream
pickup, malformed frames as anomalies with offsets, and fuzzing."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from isthmus.security.craft import Endpoint, TcpConversation
from isthmus.security.dissectors import Match, by_name
from isthmus.security.dissectors.iec104 import Iec104Event, Iec104Session
from isthmus.security.events import Anomaly, FlowKey
from isthmus.security.operations import OPERATIONS
from tests.security import builders_iec104 as b
from tests.security.golden_ics import ICS_CASES
from tests.security.traffic import monitor, write_pcap
from tests.security.tshark_oracle import needs_tshark, tshark_values

KEY = FlowKey("10.0.0.2", 40000, "10.0.0.1", 2404)


def feed(*chunks: tuple[bool, bytes], midstream: bool = False) -> list[Iec104Event | Anomaly]:
    session = Iec104Session(KEY, midstream=midstream)
    out: list[Iec104Event | Anomaly] = []
    for i, (to_server, data) in enumerate(chunks):
        out += session.parse(data, to_server=to_server, ts_ns=i)  # type: ignore[arg-type]
    return out


def events(out: list[Iec104Event | Anomaly]) -> list[Iec104Event]:
    assert not [e for e in out if isinstance(e, Anomaly)], out
    return [e for e in out if isinstance(e, Iec104Event)]


@pytest.mark.parametrize(("code", "name"), [
    (b.STARTDT_ACT, "startdt_act"), (b.STARTDT_CON, "startdt_con"),
    (b.STOPDT_ACT, "stopdt_act"), (b.STOPDT_CON, "stopdt_con"),
    (b.TESTFR_ACT, "testfr_act"), (b.TESTFR_CON, "testfr_con")])
def test_u_frames_are_session_events(code: int, name: str) -> None:
    (event,) = events(feed((True, b.u_frame(code))))
    assert (event.frame, event.function, event.operation) == ("U", name, "session")


def test_s_frame_carries_the_receive_sequence() -> None:
    (event,) = events(feed((False, b.s_frame(1234))))
    assert (event.frame, event.recv_seq, event.operation) == ("S", 1234, "session")


@pytest.mark.parametrize(("type_id", "element", "operation", "value"), [
    (45, b"\x01", "operate", 1),
    (46, b"\x02", "operate", 2),
    (47, b"\x01", "operate", 1),
    (48, struct.pack("<hB", -200, 0), "operate", -200),
    (49, struct.pack("<hB", 300, 0), "operate", 300),
    (50, struct.pack("<fB", 12.5, 0), "operate", 12.5),
    (51, struct.pack("<I", 0xDEADBEEF), "operate", 0xDEADBEEF),
    (58, b"\x01" + b.cp56(), "operate", 1),
    (59, b"\x01" + b.cp56(), "operate", 1),
    (60, b"\x02" + b.cp56(), "operate", 2),
    (61, struct.pack("<hB", 7, 0) + b.cp56(), "operate", 7),
    (62, struct.pack("<hB", 8, 0) + b.cp56(), "operate", 8),
    (63, struct.pack("<fB", 1.5, 0) + b.cp56(), "operate", 1.5),
    (64, struct.pack("<I", 5) + b.cp56(), "operate", 5),
    (100, b"\x14", "read", 20),
    (101, b"\x05", "read", 5),
    (105, b"\x01", "restart", 1),
])
def test_commands_carry_their_value_and_operation(type_id: int, element: bytes,
                                                   operation: str, value: float) -> None:
    (event,) = events(feed((True, b.i_frame(type_id, 6, 4242, element, ca=7))))
    assert (event.type_id, event.operation, event.values) == (type_id, operation, [value])
    assert (event.cause, event.common_address, event.address) == ("activation", 7, 4242)
    assert event.operation in OPERATIONS


@pytest.mark.parametrize(("type_id", "element", "operation"), [
    (102, b"", "read"), (103, b.cp56(), "time_sync"), (104, b"\xaa\x55", "session"),
    (106, b"\x10\x00", "time_sync"), (110, b"\x00\x10\x01", "write"),
    (120, b"\x01\x00\x00\x00\x00\x00", "file")])
def test_system_parameter_and_file_types(type_id: int, element: bytes, operation: str) -> None:
    (event,) = events(feed((True, b.i_frame(type_id, 6, 1, element))))
    assert event.operation == operation


def test_select_command_is_a_select() -> None:
    (event,) = events(feed((True, b.single_command(10, True, select=True))))
    assert (event.operation, event.detail["select"]) == ("select", True)


def test_activation_confirmation_is_paired_with_its_command() -> None:
    out = events(feed((True, b.setpoint_float(200, 42.5)),
                      (False, b.setpoint_float(200, 42.5, cause=7)),
                      (False, b.setpoint_float(200, 42.5, cause=10))))
    assert [(e.direction, e.cause, e.operation, e.paired) for e in out] == [
        ("request", "activation", "operate", False),
        ("response", "activation_con", "operate", True),
        ("response", "activation_termination", "operate", True)]


def test_negative_confirmation_is_flagged() -> None:
    (event,) = events(feed((False, b.single_command(1, True, cause=7, negative=True))))
    assert event.negative and event.fields()["negative"] is True


def test_spontaneous_monitor_data_is_unsolicited_and_polled_data_a_read() -> None:
    spont, polled = events(feed((False, b.measured_float(300, 1.5)),
                                (False, b.measured_float(300, 1.5, cause=20))))
    assert (spont.function, spont.operation, spont.direction) == \
        ("M_ME_NC_1", "unsolicited", "response")
    assert (polled.cause, polled.operation) == ("interrogated_by_station", "read")


def test_several_apdus_in_one_chunk_and_one_split_byte_by_byte() -> None:
    stream = b.u_frame(b.TESTFR_ACT) + b.interrogation() + b.s_frame(1)
    assert len(events(feed((True, stream)))) == 3
    assert len(events(feed(*[(True, stream[i:i + 1]) for i in range(len(stream))]))) == 3


def test_bad_apci_is_an_anomaly_with_offset_and_parsing_resumes() -> None:
    good = b.interrogation()
    out = feed((True, good + b"\x68\x02\x00\x00" + good + good))
    anomalies = [e for e in out if isinstance(e, Anomaly)]
    assert [(a.reason, a.offset) for a in anomalies] == [("bad-apci", len(good))]
    assert len([e for e in out if isinstance(e, Iec104Event)]) == 3


def test_i_frame_too_short_for_an_asdu_header_is_a_bad_apci() -> None:
    frame = bytes([0x68, 8, 0, 0, 0, 0, 45, 1, 6, 0])
    (anomaly,) = feed((True, frame))
    assert isinstance(anomaly, Anomaly) and (anomaly.reason, anomaly.offset) == ("bad-apci", 0)
    assert "I-frames need 10..253" in anomaly.message


def test_asdu_without_an_object_address_is_an_anomaly() -> None:
    frame = bytes([0x68, 10, 0, 0, 0, 0, 45, 1, 6, 0, 1, 0])   # common address, no IOA
    s_event, anomaly = feed((True, b.s_frame(0) + frame))
    assert isinstance(s_event, Iec104Event) and isinstance(anomaly, Anomaly)
    assert anomaly.reason == "malformed-asdu"
    assert anomaly.offset == 6 + len(frame)


def test_truncated_command_value_is_an_anomaly() -> None:
    frame = b.i_frame(50, 6, 1, b"\x00\x00")                   # a float needs 4 + QOS
    (anomaly,) = feed((True, frame))
    assert isinstance(anomaly, Anomaly) and anomaly.offset == 15


def test_picked_up_midstream() -> None:
    stream = b.interrogation() + b.single_command(5, False) + b.s_frame(2)
    out = events(feed((True, stream[3:]), midstream=True))
    assert [e.function for e in out] == ["C_SC_NA_1", "s_frame"]


def test_match_is_strict() -> None:
    iec = by_name("iec104")
    assert iec.match(b.u_frame(b.STARTDT_ACT), b"", midstream=False) is Match.YES
    assert iec.match(b.interrogation(), b"", midstream=False) is Match.MAYBE
    assert iec.match(b.interrogation(), b.interrogation(cause=7), midstream=False) is Match.YES
    assert iec.match(b"hello world, this is text", b"", midstream=False) is Match.NO
    assert iec.match(b"\x68\x04\x99\x00\x00\x00", b"", midstream=False) is Match.NO


def test_iec104_on_another_port_is_recognised_by_content(tmp_path: Path) -> None:
    conv = TcpConversation(Endpoint("10.9.0.2", 41000), Endpoint("10.9.0.1", 12404))
    frames = conv.handshake()
    frames += [conv.send(True, b.u_frame(b.STARTDT_ACT)),
               conv.send(False, b.u_frame(b.STARTDT_CON)),
               conv.send(True, b.i_frame(105, 6, 0, b"\x01")),
               conv.send(False, b.i_frame(105, 7, 0, b"\x01"))]
    found, _ = monitor(write_pcap(tmp_path / "iec.pcap", frames))
    iec = [e for e in found if isinstance(e, Iec104Event)]
    assert [(e.function, e.operation) for e in iec] == [
        ("startdt_act", "session"), ("startdt_con", "session"),
        ("C_RP_NA_1", "restart"), ("C_RP_NA_1", "restart")]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.binary(max_size=300)), max_size=8),
       st.booleans())
def test_arbitrary_bytes_never_raise(chunks: list[tuple[bool, bytes]], midstream: bool) -> None:
    session = Iec104Session(KEY, midstream=midstream)
    for to_server, data in chunks:
        for event in session.parse(data, to_server=to_server, ts_ns=0):
            assert isinstance(event, (Iec104Event, Anomaly))
        by_name("iec104").match(data, data, midstream=midstream)


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 255), st.integers(0, 255), st.binary(max_size=40))
def test_arbitrary_asdus_never_raise(type_id: int, cause: int, element: bytes) -> None:
    frame = b.i_frame(type_id, cause & 0x3F, 1, element)
    for event in feed((True, frame)):
        assert isinstance(event, (Iec104Event, Anomaly))


@pytest.mark.slow
@needs_tshark
def test_type_ids_agree_with_tshark(tmp_path: Path) -> None:
    linktype, frames = ICS_CASES["iec104-substation"]()
    pcap = write_pcap(tmp_path / "iec104.pcap", frames, linktype=linktype)
    found, _ = monitor(pcap)
    ours = [e.type_id for e in found if isinstance(e, Iec104Event) and e.type_id is not None]
    theirs = tshark_values(pcap, "iec60870_asdu.typeid",
                           decode_as="tcp.port==12404,iec60870_104")
    assert ours == [int(v) for v in theirs]
    assert len(ours) >= 10


def test_after_a_gap_parsing_resumes_at_the_next_apdu() -> None:
    session = Iec104Session(KEY, midstream=False)
    first = b.interrogation()
    session.parse(first[:5], to_server=True, ts_ns=0)
    assert session.gap(to_server=True, missing=50, ts_ns=1) == []
    out = session.parse(first[8:] + b.single_command(9, True) + b.s_frame(1),
                        to_server=True, ts_ns=2)
    assert [(e.function, e.offset) for e in out if isinstance(e, Iec104Event)] == [
        ("C_SC_NA_1", 5 + 50 + len(first) - 8), ("s_frame", 5 + 50 + len(first) - 8 + 16)]
