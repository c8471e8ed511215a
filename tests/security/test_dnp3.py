"""The DNP3 dissector: link CRCs, transport reassembly, every application function,
object headers and values, pairing, recognition by content, mid-stream pickup, bad
frames as anomalies with offsets, and fuzzing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from isthmus.security.craft import Endpoint, TcpConversation
from isthmus.security.dissectors import Match, by_name
from isthmus.security.dissectors.dnp3 import FUNCTIONS, Dnp3Event, Dnp3Session, crc
from isthmus.security.events import Anomaly, FlowKey
from isthmus.security.operations import OPERATIONS
from tests.security import builders_dnp3 as b
from tests.security.golden_ics import ICS_CASES
from tests.security.traffic import monitor, write_pcap
from tests.security.tshark_oracle import needs_tshark, tshark_values

KEY = FlowKey("10.0.0.2", 40000, "10.0.0.1", 20000)


def feed(*chunks: tuple[bool, bytes], midstream: bool = False) -> list[Dnp3Event | Anomaly]:
    session = Dnp3Session(KEY, midstream=midstream)
    out: list[Dnp3Event | Anomaly] = []
    for i, (to_server, data) in enumerate(chunks):
        out += session.parse(data, to_server=to_server, ts_ns=i)  # type: ignore[arg-type]
    return out


def request(fc: int, objects: bytes = b"", seq: int = 1) -> tuple[bool, bytes]:
    return True, b"".join(b.frames(b.request(fc, objects, seq=seq)))


def response(objects: bytes = b"", **kw: Any) -> tuple[bool, bytes]:
    return False, b"".join(b.frames(b.response(objects, **kw), from_master=False))


def events(out: list[Dnp3Event | Anomaly]) -> list[Dnp3Event]:
    assert not [e for e in out if isinstance(e, Anomaly)], out
    return [e for e in out if isinstance(e, Dnp3Event)]


def test_crc_matches_the_bit_by_bit_reference_and_a_published_frame() -> None:
    # header 05 64 05 C0 01 00 00 04: tshark 4.0's DNP3 dissector accepts CRC bytes E9 21
    assert crc(bytes.fromhex("056405c001000004")) == 0x21E9
    data = bytes(range(256))
    assert all(crc(data[:n]) == b.reference_crc(data[:n]) for n in range(0, 256, 7))


@pytest.mark.parametrize("fc", sorted(fc for fc in FUNCTIONS if fc < 129))
def test_every_request_function_is_named_with_a_known_operation(fc: int) -> None:
    (event,) = events(feed(request(fc)))
    name, operation = FUNCTIONS[fc]
    assert (event.function_code, event.function, event.direction) == (fc, name, "request")
    assert event.operation == operation and operation in OPERATIONS
    assert (event.unit_id, event.source, event.destination) == (b.OUTSTATION, b.MASTER,
                                                                b.OUTSTATION)


@pytest.mark.parametrize(("fc", "operation"), [
    (1, "read"), (2, "write"), (3, "select"), (4, "operate"), (5, "operate"), (6, "operate"),
    (13, "restart"), (14, "restart"), (20, "control"), (21, "control"), (22, "control"),
    (23, "time_sync"), (24, "time_sync"), (25, "file"), (26, "file"), (27, "file"),
    (7, "operate")])
def test_functions_map_to_the_operations_detections_use(fc: int, operation: str) -> None:
    assert FUNCTIONS[fc][1] == operation


def test_class_poll_lists_every_object_header() -> None:
    (event,) = events(feed(request(1, b.class_poll())))
    assert [(o["group"], o["variation"], o["qualifier"]) for o in event.objects] == [
        (60, 2, 6), (60, 3, 6), (60, 4, 6), (60, 1, 6)]
    assert event.address is None and event.quantity is None


def test_select_then_operate_report_the_point_and_control_code() -> None:
    out = events(feed(request(3, b.crob(7, 0x41), seq=2), response(b.crob(7, 0x41), seq=2),
                      request(4, b.crob(7, 0x41), seq=3)))
    select, answer, operate = out
    assert (select.operation, select.address, select.quantity, select.values) == \
        ("select", 7, 1, [0x41])
    assert (answer.direction, answer.paired, answer.operation) == ("response", True, "select")
    assert (operate.operation, operate.address, operate.values) == ("operate", 7, [0x41])


def test_direct_operate_of_an_analog_output_gives_the_value() -> None:
    (event,) = events(feed(request(5, b.analog_output(4, -1234))))
    assert (event.function, event.address, event.values) == ("direct_operate", 4, [-1234])


def test_write_of_time_and_date_is_a_write_with_a_count() -> None:
    (event,) = events(feed(request(2, b.time_and_date(1_700_000_000_000))))
    assert (event.operation, event.objects[0]["group"], event.quantity) == ("write", 50, 1)


def test_file_transfer_objects_make_a_file_operation() -> None:
    (event,) = events(feed(request(25, b.file_open(b"/config.xml"))))
    assert event.operation == "file" and event.objects[0]["group"] == 70
    (write,) = events(feed(request(2, b.file_open(b"/x"))))
    assert (write.function, write.operation) == ("write", "file")


def test_response_carries_iin_bits_and_read_range() -> None:
    out = events(feed(request(1, b.class_poll(), seq=9),
                      response(b.analog_inputs(10, [1, 2, 3]), seq=9, iin=0x0490)))
    answer = out[1]
    assert answer.iin == ["need_time", "device_restart", "parameter_error"]
    assert (answer.address, answer.quantity, answer.paired) == (10, 3, True)


def test_unsolicited_response_is_unsolicited() -> None:
    (event,) = events(feed(response(b.analog_inputs(0, [5]), fc=130, unsolicited=True)))
    assert (event.function, event.operation, event.direction) == \
        ("unsolicited_response", "unsolicited", "response")
    assert event.fields()["unsolicited"] is True


def test_link_only_frames_are_session_events() -> None:
    out = events(feed((True, b.link_only(9)),
                      (False, b.link_only(11, from_master=False, primary=False))))
    assert [(e.function, e.operation, e.direction) for e in out] == [
        ("link_request_link_status", "session", "request"),
        ("link_link_status", "session", "response")]


def test_fragment_in_many_transport_segments_is_reassembled() -> None:
    values = list(range(200))
    apdu = b.response(b.analog_inputs(0, values), fc=130, unsolicited=True)
    frames = b.frames(apdu, from_master=False, segment=50)
    assert len(frames) > 10
    (event,) = events(feed(*[(False, f) for f in frames]))
    assert (event.quantity, event.length) == (200, len(frames[-1]))


def test_frames_split_byte_by_byte_and_several_in_one_chunk() -> None:
    stream = b"".join(b.frames(b.request(1, b.class_poll(), seq=1)) +
                      b.frames(b.request(1, b.class_poll(), seq=2)))
    assert len(events(feed(*[(True, stream[i:i + 1]) for i in range(len(stream))]))) == 2
    assert len(events(feed((True, stream)))) == 2


def test_bad_data_block_crc_is_an_anomaly_at_the_block() -> None:
    good = b.frames(b.request(1, b.class_poll()))[0]
    frame = bytearray(good)
    frame[12] ^= 0xFF
    out = feed((True, bytes(good)), (True, bytes(frame)), (True, bytes(good)))
    anomaly = [e for e in out if isinstance(e, Anomaly)]
    assert [(a.reason, a.offset) for a in anomaly] == [("bad-crc", len(good) + 10)]
    assert len([e for e in out if isinstance(e, Dnp3Event)]) == 2


def test_bad_header_is_an_anomaly_and_parsing_resynchronises() -> None:
    good = b.frames(b.request(1, b.class_poll()))[0]
    out = feed((True, good + b"\x05\x64garbage!!" + good))
    anomaly = [e for e in out if isinstance(e, Anomaly)]
    assert [(a.reason, a.offset) for a in anomaly] == [("bad-link-header", len(good))]
    assert len([e for e in out if isinstance(e, Dnp3Event)]) == 2


def test_malformed_object_header_is_an_anomaly() -> None:
    out = feed(request(2, bytes([12, 1, 0x28, 5])))           # count needs two bytes
    (anomaly,) = out
    assert isinstance(anomaly, Anomaly) and anomaly.reason == "malformed-apdu"
    assert anomaly.offset == 0


def test_transport_segment_out_of_sequence_is_an_anomaly() -> None:
    frames = b.frames(b.response(b.analog_inputs(0, list(range(40)))), from_master=False,
                      segment=40)
    out = feed((False, frames[0]), (False, frames[2]))
    assert [(a.reason, a.offset) for a in out if isinstance(a, Anomaly)] == [
        ("transport-sequence", len(frames[0]) + 10)]


def test_picked_up_midstream_inside_a_frame() -> None:
    stream = b"".join(b.frames(b.request(1, b.class_poll(), seq=1)) +
                      b.frames(b.request(2, b.time_and_date(5), seq=2)))
    out = events(feed((True, stream[7:]), midstream=True))
    assert [e.function for e in out] == ["write"]


def test_match_is_strict() -> None:
    dnp3 = by_name("dnp3")
    frame = b.frames(b.request(1, b.class_poll()))[0]
    assert dnp3.match(frame, b"", midstream=False) is Match.YES
    assert dnp3.match(frame[:4], b"", midstream=False) is Match.MAYBE
    assert dnp3.match(b"\x05\x64" + b"\0" * 8, b"", midstream=False) is Match.NO
    assert dnp3.match(b"GET / HTTP/1.1\r\n", b"", midstream=False) is Match.NO
    assert dnp3.match(b"xyz" + frame, b"", midstream=True) is Match.YES


def test_dnp3_on_another_port_is_recognised_by_content(tmp_path: Path) -> None:
    conv = TcpConversation(Endpoint("10.9.0.2", 41000), Endpoint("10.9.0.1", 30000))
    frames = conv.handshake()
    frames += [conv.send(True, f) for f in b.frames(b.request(13))]
    frames += [conv.send(False, f) for f in b.frames(b.response(iin=0x8000), from_master=False)]
    found, _ = monitor(write_pcap(tmp_path / "dnp3.pcap", frames))
    dnp3 = [e for e in found if isinstance(e, Dnp3Event)]
    assert [(e.function, e.operation, e.flow.dport) for e in dnp3] == [
        ("cold_restart", "restart", 30000), ("response", "restart", 41000)]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.binary(max_size=400)), max_size=8),
       st.booleans())
def test_arbitrary_bytes_never_raise(chunks: list[tuple[bool, bytes]], midstream: bool) -> None:
    session = Dnp3Session(KEY, midstream=midstream)
    for to_server, data in chunks:
        for event in session.parse(data, to_server=to_server, ts_ns=0):
            assert isinstance(event, (Dnp3Event, Anomaly))
        by_name("dnp3").match(data, data, midstream=midstream)


@settings(max_examples=200, deadline=None)
@given(st.binary(min_size=1, max_size=300), st.integers(0, 3))
def test_arbitrary_application_fragments_never_raise(apdu: bytes, split: int) -> None:
    frames = b.frames(apdu, segment=[249, 17, 60, 5][split])
    out = feed(*[(True, f) for f in frames])
    assert len(out) <= 1


@pytest.mark.slow
@needs_tshark
def test_function_codes_agree_with_tshark(tmp_path: Path) -> None:
    linktype, frames = ICS_CASES["dnp3-outstation"]()
    pcap = write_pcap(tmp_path / "dnp3.pcap", frames, linktype=linktype)
    found, _ = monitor(pcap)
    ours = [e.function_code for e in found if isinstance(e, Dnp3Event)
            and e.function_code is not None]
    assert ours == [int(v) for v in tshark_values(pcap, "dnp3.al.func")]
    assert len(ours) >= 8


def test_after_a_gap_parsing_resumes_at_the_next_frame() -> None:
    session = Dnp3Session(KEY, midstream=False)
    stream = b"".join(b.frames(b.request(1, b.class_poll(), seq=1)))
    session.parse(stream[:9], to_server=True, ts_ns=0)
    assert session.gap(to_server=True, missing=100, ts_ns=1) == []
    out = session.parse(stream[20:] + b"".join(b.frames(b.request(13, seq=2))),
                        to_server=True, ts_ns=2)
    assert [(e.function, e.offset) for e in out if isinstance(e, Dnp3Event)] == [
        ("cold_restart", 9 + 100 + len(stream) - 20)]
