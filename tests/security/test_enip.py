"""The EtherNet/IP + CIP dissector: encapsulation commands, ListIdentity identity, CIP
services with paths and tag values, Unconnected Send and Multiple Service Packet,
response pairing and status, recognition by content, mid-stream pickup, malformed
messages as anomalies with offsets, and fuzzing."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from isthmus.security.craft import Endpoint, TcpConversation
from isthmus.security.dissectors import Match, by_name
from isthmus.security.dissectors.enip import EnipEvent, EnipSession
from isthmus.security.events import Anomaly, FlowKey
from isthmus.security.operations import OPERATIONS
from tests.security import builders_enip as b
from tests.security.golden_ics import ICS_CASES
from tests.security.traffic import monitor, write_pcap
from tests.security.tshark_oracle import needs_tshark, tshark_values

KEY = FlowKey("10.0.0.2", 40000, "10.0.0.1", 44818)


def feed(*chunks: tuple[bool, bytes], midstream: bool = False) -> list[EnipEvent | Anomaly]:
    session = EnipSession(KEY, midstream=midstream)
    out: list[EnipEvent | Anomaly] = []
    for i, (to_server, data) in enumerate(chunks):
        out += session.parse(data, to_server=to_server, ts_ns=i)  # type: ignore[arg-type]
    return out


def events(out: list[EnipEvent | Anomaly]) -> list[EnipEvent]:
    assert not [e for e in out if isinstance(e, Anomaly)], out
    return [e for e in out if isinstance(e, EnipEvent)]


def rr(service: int, path: bytes, data: bytes = b"") -> tuple[bool, bytes]:
    return True, b.send_rr(b.cip_request(service, path, data))


@pytest.mark.parametrize(("command", "name", "operation"), [
    (0x0004, "list_services", "identify"), (0x0063, "list_identity", "identify"),
    (0x0064, "list_interfaces", "identify"), (0x0066, "unregister_session", "session")])
def test_encapsulation_commands(command: int, name: str, operation: str) -> None:
    (event,) = events(feed((True, b.encap(command))))
    assert (event.command, event.function, event.operation) == (name, name, operation)


def test_register_session_both_ways() -> None:
    out = events(feed((True, b.register_session()), (False, b.register_session())))
    assert [(e.command, e.direction) for e in out] == [("register_session", "request"),
                                                       ("register_session", "response")]


def test_list_identity_response_gives_the_device_identity() -> None:
    (event,) = events(feed((False, b.list_identity_response("1756-L71/B LOGIX5571"))))
    assert event.device_identity() == {
        "vendor_id": "1", "device_type": "14", "product_code": "166", "revision": "32.11",
        "serial": "0xc0ffee01", "product": "1756-L71/B LOGIX5571"}
    assert event.identity["address"] == "10.10.0.5" and event.identity["port"] == "44818"


@pytest.mark.parametrize(("service", "path", "data", "function", "operation"), [
    (0x01, b.logical_path(1), b"", "get_attributes_all", "identify"),
    (0x0E, b.logical_path(0xF5, 1, 5), b"", "get_attribute_single", "read"),
    (0x10, b.logical_path(0xF5, 1, 5), b"\x01", "set_attribute_single", "write"),
    (0x02, b.logical_path(4, 100), b"", "set_attributes_all", "write"),
    (0x05, b.logical_path(1), b"", "reset", "restart"),
    (0x06, b.logical_path(0x8E), b"", "start", "cpu_start"),
    (0x07, b.logical_path(0x8E), b"", "stop", "cpu_stop"),
    (0x08, b.logical_path(0xAC), b"", "create", "program"),
    (0x09, b.logical_path(0xAC), b"", "delete", "program"),
    (0x4C, b.symbol_path("Tank", "Level"), b"\x01\x00", "read_tag", "read"),
    (0x4D, b.symbol_path("Setpoint"), b.write_tag_data([1, -2]), "write_tag", "write"),
    (0x52, b.symbol_path("Big"), b"\x0a\x00\x00\x00\x00\x00", "read_tag_fragmented", "read"),
    (0x53, b.symbol_path("Big"), b.write_tag_data([3])[:4] + b"\0\0\0\0" + b"\3\0\0\0",
     "write_tag_fragmented", "write"),
    (0x4E, b.logical_path(6), b"", "forward_close", "session"),
    (0x5B, b.logical_path(6), b"", "large_forward_open", "session"),
])
def test_cip_services_are_named_with_their_operation(service: int, path: bytes, data: bytes,
                                                     function: str, operation: str) -> None:
    (event,) = events(feed(rr(service, path, data)))
    assert (event.service_code, event.function, event.operation) == (service, function,
                                                                     operation)
    assert event.operation in OPERATIONS


def test_request_path_classes_instances_attributes_and_tags() -> None:
    (logical,) = events(feed(rr(0x0E, b.logical_path(0xF5, 1, 5))))
    assert logical.path == {"class": 0xF5, "instance": 1, "attribute": 5}
    assert logical.fields()["class_name"] == "tcp_ip_interface"
    (symbolic,) = events(feed(rr(0x4C, b.symbol_path("Program:Main", "Speed"), b"\1\0")))
    assert symbolic.path == {"tag": "Program:Main.Speed"}


def test_write_tag_values_and_read_tag_response_pairing() -> None:
    write, _read, answer = events(feed(
        rr(0x4D, b.symbol_path("Setpoint"), b.write_tag_data([500, 7])),
        (True, b.send_rr(b.cip_request(0x4C, b.symbol_path("Speed"), b"\1\0"),
                         context=b"ctx00002")),
        (False, b.send_rr(b.cip_response(0x4C, struct.pack("<Hi", 0xC4, 77)),
                          context=b"ctx00002"))))
    assert (write.values, write.quantity) == ([500, 7], 2)
    assert (answer.paired, answer.function, answer.path, answer.values) == \
        (True, "read_tag", {"tag": "Speed"}, [77])


def test_error_status_is_an_exception_code() -> None:
    _request, answer = events(feed(rr(0x10, b.logical_path(1, 1, 7), b"\0"),
                                   (False, b.send_rr(b.cip_response(0x10, status=0x0E)))))
    assert answer.fields()["exception_code"] == 0x0E
    assert answer.detail["status_name"] == "attribute_not_settable"


def test_identity_object_attributes_give_the_device_identity() -> None:
    out = events(feed((True, b.send_rr(b.unconnected_send(b.cip_request(
        0x01, b.logical_path(1))))),
        (False, b.send_rr(b.cip_response(0x01, b.identity_attributes("1769-L33ER"))))))
    request, answer = out
    assert (request.function, request.detail["via"]) == ("get_attributes_all",
                                                         "unconnected_send")
    assert answer.device_identity() is not None
    assert answer.device_identity()["product"] == "1769-L33ER"  # type: ignore[index]


def test_multiple_service_packet_is_its_most_dangerous_part() -> None:
    request = b.multiple_service(b.cip_request(0x4C, b.symbol_path("A"), b"\1\0"),
                                 b.cip_request(0x4D, b.symbol_path("B"), b.write_tag_data([1])))
    (event,) = events(feed((True, b.send_unit(request, seq=5))))
    assert (event.function, event.operation, event.detail["services"]) == \
        ("multiple_service_packet", "write", ["read_tag", "write_tag"])
    reads = b.multiple_service(b.cip_request(0x4C, b.symbol_path("A"), b"\1\0"))
    (event,) = events(feed((True, b.send_unit(reads, seq=6))))
    assert event.operation == "read"


def test_connected_messages_pair_by_sequence_count() -> None:
    out = events(feed((True, b.send_unit(b.cip_request(0x4C, b.symbol_path("X"), b"\1\0"),
                                         seq=9)),
                      (False, b.send_unit(b.cip_response(0x4C, struct.pack("<Hh", 0xC3, -5)),
                                          seq=9))))
    assert (out[1].paired, out[1].path, out[1].values) == (True, {"tag": "X"}, [-5])


def test_forward_open_is_a_session() -> None:
    (event,) = events(feed((True, b.send_rr(b.forward_open()))))
    assert (event.function, event.operation) == ("forward_open", "session")


def test_several_messages_in_one_chunk_and_one_split_byte_by_byte() -> None:
    stream = b.register_session() + b.encap(0x63) + b.send_rr(b.forward_open())
    assert len(events(feed((True, stream)))) == 3
    assert len(events(feed(*[(True, stream[i:i + 1]) for i in range(len(stream))]))) == 3


def test_bad_header_and_bad_cpf_are_anomalies_with_offsets() -> None:
    good = b.register_session()
    bad_cpf = b.encap(0x6F, b"\0" * 6 + b"\x02\x00\x99\x99\x00\x00")
    out = feed((True, good + bad_cpf + b"\xee" * 30 + good))
    anomalies = [(a.reason, a.offset) for a in out if isinstance(a, Anomaly)]
    assert anomalies == [("malformed", len(good) + 24 + 8),
                         ("bad-header", len(good) + len(bad_cpf))]
    assert len([e for e in out if isinstance(e, EnipEvent)]) == 2


def test_truncated_cip_path_is_an_anomaly() -> None:
    (anomaly,) = feed((True, b.send_rr(bytes([0x0E, 3, 0x20, 1]))))
    assert isinstance(anomaly, Anomaly) and anomaly.reason == "malformed"
    # header, interface handle and timeout, item count, two item headers, path size byte
    assert anomaly.offset == 24 + 6 + 2 + 4 + 4 + 1


def test_picked_up_midstream() -> None:
    stream = b.register_session() + b.send_rr(b.cip_request(0x07, b.logical_path(0x8E)))
    out = events(feed((True, stream[3:]), midstream=True))
    assert [e.function for e in out] == ["stop"]


def test_match_is_strict() -> None:
    enip = by_name("enip")
    assert enip.match(b.register_session(), b"", midstream=False) is Match.YES
    assert enip.match(b.register_session()[:10], b"", midstream=False) is Match.MAYBE
    assert enip.match(b"\0" * 24, b"", midstream=False) is Match.NO           # NOP only
    assert enip.match(b"GET / HTTP/1.1\r\n\r\n", b"", midstream=False) is Match.NO
    assert enip.match(b"\x6f\x00\x04\x00" + b"\0" * 24, b"", midstream=False) is Match.NO
    assert enip.match(b"??" + b.send_rr(b.forward_open()), b"", midstream=True) is Match.YES


def test_zero_filled_binary_data_is_not_taken_for_enip_midstream() -> None:
    data = b"\x04\x00\x00\x00" + b"\0" * 60 + b"\x66\x00\x00\x00" + b"\0" * 40
    assert by_name("enip").match(data, data, midstream=True) is not Match.YES


def test_enip_on_another_port_is_recognised_by_content(tmp_path: Path) -> None:
    conv = TcpConversation(Endpoint("10.9.0.2", 41000), Endpoint("10.9.0.1", 4444))
    frames = conv.handshake()
    frames += [conv.send(True, b.register_session()), conv.send(False, b.register_session()),
               conv.send(True, b.send_rr(b.cip_request(0x05, b.logical_path(1))))]
    found, _ = monitor(write_pcap(tmp_path / "enip.pcap", frames))
    enip = [e for e in found if isinstance(e, EnipEvent)]
    assert [(e.function, e.operation) for e in enip] == [
        ("register_session", "session"), ("register_session", "session"),
        ("reset", "restart")]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.binary(max_size=300)), max_size=8),
       st.booleans())
def test_arbitrary_bytes_never_raise(chunks: list[tuple[bool, bytes]], midstream: bool) -> None:
    session = EnipSession(KEY, midstream=midstream)
    for to_server, data in chunks:
        for event in session.parse(data, to_server=to_server, ts_ns=0):
            assert isinstance(event, (EnipEvent, Anomaly))
        by_name("enip").match(data, data, midstream=midstream)


@settings(max_examples=300, deadline=None)
@given(st.binary(min_size=1, max_size=80), st.booleans(), st.booleans())
def test_arbitrary_cip_messages_never_raise(cip: bytes, connected: bool, reply: bool) -> None:
    message = b.send_unit(cip, seq=1) if connected else b.send_rr(cip)
    for event in feed((not reply, message)):
        assert isinstance(event, (EnipEvent, Anomaly))


@pytest.mark.slow
@needs_tshark
def test_cip_services_agree_with_tshark(tmp_path: Path) -> None:
    """tshark lists every service of a frame (an Unconnected Send and what it carries);
    ours names the one that acts. The mid-stream connection, which tshark cannot
    resynchronise, is left out."""
    linktype, frames = ICS_CASES["enip-logix"]()
    pcap = write_pcap(tmp_path / "enip.pcap", frames[:-1], linktype=linktype)
    found, _ = monitor(pcap)
    ours = [e.service_code for e in found if isinstance(e, EnipEvent)
            and e.service_code is not None]
    theirs = [[int(v, 16) for v in row.split(",")] for row in tshark_values(pcap, "cip.sc")]
    assert len(ours) == len(theirs) >= 10
    assert all(code in row for code, row in zip(ours, theirs, strict=True))


def test_after_a_gap_parsing_resumes_at_the_next_message() -> None:
    session = EnipSession(KEY, midstream=False)
    first = b.send_rr(b.forward_open())
    session.parse(first[:30], to_server=True, ts_ns=0)
    assert session.gap(to_server=True, missing=10, ts_ns=1) == []
    out = session.parse(first[40:] + b.send_rr(b.cip_request(0x05, b.logical_path(1))),
                        to_server=True, ts_ns=2)
    assert [(e.function, e.offset) for e in out if isinstance(e, EnipEvent)] == [
        ("reset", 30 + 10 + len(first) - 40)]


def test_pending_requests_are_bounded() -> None:
    session = EnipSession(KEY, midstream=False)
    for i in range(2000):
        session.parse(b.send_rr(b.cip_request(0x4C, b.symbol_path("T"), b"\1\0"),
                                context=i.to_bytes(8, "little")), to_server=True, ts_ns=i)
    (answer,) = session.parse(b.send_rr(b.cip_response(0x4C), context=(1999).to_bytes(
        8, "little")), to_server=False, ts_ns=0)
    assert isinstance(answer, EnipEvent) and answer.paired
    (early,) = session.parse(b.send_rr(b.cip_response(0x4C), context=(0).to_bytes(
        8, "little")), to_server=False, ts_ns=0)
    assert isinstance(early, EnipEvent) and not early.paired      # evicted long ago
