"""The Modbus/TCP dissector: every public function code, exceptions, device identification,
UMAS, recognition by content on any port, garbage on port 502, and fuzzing."""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any, cast

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from isthmus.security.craft import Endpoint, TcpConversation
from isthmus.security.dissectors import Match, by_name
from isthmus.security.dissectors.modbus import ModbusEvent, ModbusSession
from isthmus.security.events import Anomaly, FlowKey
from tests.security.traffic import (
    adu,
    anomalies,
    conversation,
    modbus_fields,
    monitor,
    read_request,
    registers_response,
    write_pcap,
)

KEY = FlowKey("10.0.0.2", 40000, "10.0.0.1", 502)


def exchange(request_pdu: bytes, response_pdu: bytes | None = None,
             unit: int = 1) -> list[ModbusEvent | Anomaly]:
    session = ModbusSession(KEY, midstream=False)
    out = session.parse(adu(7, unit, request_pdu), to_server=True, ts_ns=1)
    if response_pdu is not None:
        out += session.parse(adu(7, unit, response_pdu), to_server=False, ts_ns=2)
    return cast("list[ModbusEvent | Anomaly]", out)


def fields(events: list[ModbusEvent | Anomaly]) -> list[dict[str, Any]]:
    assert all(isinstance(e, ModbusEvent) for e in events), events
    return [e.fields() for e in events if isinstance(e, ModbusEvent)]


@pytest.mark.parametrize(("fc", "request_pdu", "response_pdu", "expected"), [
    (1, b"\x01\x00\x10\x00\x0a", b"\x01\x02\x05\x01",
     {"address": 16, "quantity": 10, "values": [1, 0, 1, 0, 0, 0, 0, 0, 1, 0]}),
    (2, b"\x02\x00\x00\x00\x03", b"\x02\x01\x06", {"values": [0, 1, 1]}),
    (3, b"\x03\x00\x64\x00\x02", b"\x03\x04\x00\x01\x00\x02", {"values": [1, 2]}),
    (4, b"\x04\x00\x00\x00\x01", b"\x04\x02\xff\xff", {"values": [65535]}),
    (5, b"\x05\x00\x07\xff\x00", b"\x05\x00\x07\xff\x00", {"address": 7, "values": [1]}),
    (6, b"\x06\x00\x08\x12\x34", b"\x06\x00\x08\x12\x34", {"values": [0x1234]}),
    (7, b"\x07", b"\x07\x6d", {"values": [0x6D]}),
    (8, b"\x08\x00\x01\x00\x00", b"\x08\x00\x01\x00\x00",
     {"subfunction": 1, "subfunction_name": "restart_communications_option"}),
    (11, b"\x0b", b"\x0b\xff\xff\x01\x08", {"status": 0xFFFF, "event_count": 0x108}),
    (12, b"\x0c", b"\x0c\x08\x00\x00\x01\x08\x01\x21\x20\x00",
     {"event_count": 0x108, "message_count": 0x121, "values": [0x20, 0]}),
    (15, b"\x0f\x00\x13\x00\x0a\x02\xcd\x01", b"\x0f\x00\x13\x00\x0a",
     {"address": 19, "quantity": 10}),
    (16, b"\x10\x00\x01\x00\x02\x04\x00\x0a\x01\x02", b"\x10\x00\x01\x00\x02",
     {"address": 1, "quantity": 2}),
    (17, b"\x11", b"\x11\x03PLC", {"text": "PLC"}),
    (20, b"\x14\x0e\x06\x00\x04\x00\x01\x00\x02\x06\x00\x03\x00\x09\x00\x02",
     b"\x14\x0c\x05\x06\x0d\xfe\x00\x20\x05\x06\x33\xcd\x00\x40", {"record_bytes": [4, 4]}),
    (21, b"\x15\x0b\x06\x00\x04\x00\x07\x00\x02\x06\xaf\x04\xbe",
     b"\x15\x0b\x06\x00\x04\x00\x07\x00\x02\x06\xaf\x04\xbe",
     {"records": [{"reference_type": 6, "file": 4, "record": 7, "length": 2}]}),
    (22, b"\x16\x00\x04\x00\xf2\x00\x25", b"\x16\x00\x04\x00\xf2\x00\x25",
     {"and_mask": 0xF2, "or_mask": 0x25}),
    (23, b"\x17\x00\x03\x00\x02\x00\x0e\x00\x01\x02\x00\xff", b"\x17\x04\x00\xfe\x0a\xcd",
     {"address": 3, "quantity": 2, "values": [0xFE, 0x0ACD]}),
    (24, b"\x18\x04\xde", b"\x18\x00\x06\x00\x02\x01\xb8\x12\x84", {"values": [440, 4740]}),
])
def test_public_function_codes_parse_request_and_response(
        fc: int, request_pdu: bytes, response_pdu: bytes, expected: dict[str, Any]) -> None:
    request, response = fields(exchange(request_pdu, response_pdu))
    assert (request["function_code"], request["direction"]) == (fc, "request")
    assert (response["function_code"], response["direction"]) == (fc, "response")
    assert response.items() >= expected.items()


def test_operations_classify_reads_writes_diagnostics_identification() -> None:
    ops = {pdu[0]: fields(exchange(pdu))[0]["operation"] for pdu in (
        b"\x03\x00\x00\x00\x01", b"\x10\x00\x00\x00\x01\x02\x00\x01", b"\x08\x00\x00\x00\x00",
        b"\x11", b"\x17\x00\x00\x00\x01\x00\x00\x00\x01\x02\x00\x00")}
    assert ops == {3: "read", 16: "write", 8: "diagnostics", 17: "identify", 23: "read_write"}


def test_exception_response_names_the_code_and_keeps_the_request_context() -> None:
    _, response = fields(exchange(b"\x03\x00\x10\x00\x02", b"\x83\x02"))
    assert response.items() >= {"function_code": 3, "exception_code": 2,
                             "exception": "illegal_data_address", "address": 16,
                             "direction": "response"}.items()


def test_read_device_identification_yields_vendor_product_and_revision() -> None:
    objects = b"".join(bytes([i, len(v)]) + v for i, v in
                       enumerate([b"Schneider Electric", b"BMX P34 2020", b"v3.10"]))
    events = exchange(b"\x2b\x0e\x01\x00", b"\x2b\x0e\x01\x01\x00\x00\x03" + objects)
    request, response = fields(events)
    assert request["function"] == "read_device_identification"
    assert request["operation"] == "identify"
    assert response["objects"] == {"vendor_name": "Schneider Electric",
                                   "product_code": "BMX P34 2020", "revision": "v3.10"}
    assert events[1].device_identity() == {  # type: ignore[union-attr]
        "vendor": "Schneider Electric", "product_code": "BMX P34 2020", "revision": "v3.10"}


def test_canopen_reference_is_an_encapsulated_transport() -> None:
    (request,) = fields(exchange(b"\x2b\x0d\x00\x01\x02"))
    assert (request["function"], request["operation"]) == ("canopen_general_reference",
                                                           "encapsulated")


def test_umas_is_vendor_programming_with_its_own_function() -> None:
    request, response = fields(exchange(b"\x5a\x00\x41\x01", b"\x5a\x00\xfe"))
    assert (request["function_code"], request["operation"]) == (90, "program")
    assert request["subfunction_name"] == "stop_plc"
    assert (response["subfunction_name"], response["status"]) == ("stop_plc", "response_ok")


def test_malformed_pdu_is_an_anomaly_with_its_stream_offset_and_parsing_goes_on() -> None:
    session = ModbusSession(KEY, midstream=False)
    bad = adu(1, 1, b"\x03\x00\x00\x00")               # a read request one byte short
    out = session.parse(bad + read_request(2), to_server=True, ts_ns=1)
    anomaly = next(e for e in out if isinstance(e, Anomaly))
    assert (anomaly.layer, anomaly.reason, anomaly.offset) == ("modbus", "malformed-pdu", 11)
    assert [e.transaction_id for e in out if isinstance(e, ModbusEvent)] == [1, 2]


def test_out_of_spec_quantity_is_reported_but_parsed() -> None:
    out = exchange(b"\x03\x00\x00\x00\x7e")             # 126 registers: over the limit
    assert [e.reason for e in out if isinstance(e, Anomaly)] == ["out-of-spec"]


def test_content_match_needs_two_consistent_adus() -> None:
    modbus = by_name("modbus")
    one = read_request(1)
    assert modbus.match(one, b"", midstream=False) is Match.MAYBE
    assert modbus.match(one, registers_response(1, [1]), midstream=False) is Match.YES
    assert modbus.match(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", b"", midstream=False) is Match.NO
    assert modbus.match(one + b"\x00\x01\x00\x07\x00\x06\x01\x03", b"",
                        midstream=False) is Match.NO        # protocol id 7


@pytest.mark.parametrize("port", [5020, 15020])
def test_modbus_on_another_port_is_recognised_by_content(tmp_path: Path, port: int) -> None:
    conv = TcpConversation(Endpoint("10.0.0.2", 50123), Endpoint("10.0.0.1", port))
    frames = [*conv.handshake()]
    for tid in range(1, 4):
        frames += [conv.send(True, read_request(tid)),
                   conv.send(False, registers_response(tid, [tid, tid]))]
    events, _ = monitor(write_pcap(tmp_path / "c.pcap", frames))
    assert len(modbus_fields(events)) == 6


def test_http_on_another_port_is_not_taken_for_modbus(tmp_path: Path) -> None:
    conv = TcpConversation(Endpoint("10.0.0.2", 50123), Endpoint("10.0.0.1", 8080))
    frames = [*conv.handshake(), conv.send(True, b"GET / HTTP/1.1\r\nHost: plc\r\n\r\n"),
              conv.send(False, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")]
    events, _ = monitor(write_pcap(tmp_path / "c.pcap", frames))
    assert modbus_fields(events) == []
    assert {getattr(e, "protocol", None) for e in events} == {"http"}


def test_an_unknown_protocol_on_another_port_is_left_unrecognised(tmp_path: Path) -> None:
    conv = TcpConversation(Endpoint("10.0.0.2", 50123), Endpoint("10.0.0.1", 9999))
    frames = [*conv.handshake(), conv.send(True, b"HELLO plc 7\r\n"),
              conv.send(False, b"OLEH 7\r\n")]
    events, summary = monitor(write_pcap(tmp_path / "c.pcap", frames))
    assert events == [] and summary.streams["unrecognised"] == 1
    assert summary.links[0]["function"] == "port 9999"


def test_garbage_on_port_502_is_reported_not_fatal(tmp_path: Path) -> None:
    conv = conversation()
    frames = [*conv.handshake(), conv.send(True, b"\x16\x03\x01\x02\x00" + bytes(range(200))),
              conv.send(True, read_request(9)), conv.send(False, registers_response(9, [3, 4]))]
    events, _ = monitor(write_pcap(tmp_path / "c.pcap", frames))
    (bad,) = anomalies(events)
    assert (bad["layer"], bad["reason"], bad["offset"]) == ("modbus", "bad-header", 0)
    assert [f["transaction_id"] for f in modbus_fields(events)] == [9, 9]


def test_response_pairs_with_its_request_by_transaction_id() -> None:
    session = ModbusSession(KEY, midstream=False)
    session.parse(read_request(1, address=10, count=3) + read_request(2, fc=1, count=4),
                  to_server=True, ts_ns=1)
    out = session.parse(adu(2, 1, b"\x01\x01\x0f") + registers_response(1, [4, 5, 6]),
                        to_server=False, ts_ns=2)
    coils, regs = (e for e in out if isinstance(e, ModbusEvent))
    assert (coils.paired, coils.values, regs.paired, regs.address) == (True, [1, 1, 1, 1],
                                                                       True, 10)


FRAMES = [read_request(1), registers_response(1, [1, 2, 3]), adu(3, 1, b"\x2b\x0e\x01\x00"),
          adu(4, 1, b"\x10\x00\x01\x00\x02\x04\x00\x0a\x01\x02"), adu(5, 1, b"\x83\x02"),
          adu(6, 1, b"\x5a\x00\x41\x01")]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.binary(max_size=80), max_size=6), st.booleans())
def test_random_bytes_never_raise(chunks: list[bytes], midstream: bool) -> None:
    session = ModbusSession(KEY, midstream=midstream)
    for i, chunk in enumerate(chunks):
        for event in session.parse(chunk, to_server=i % 2 == 0, ts_ns=i):
            assert isinstance(event, ModbusEvent | Anomaly)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(FRAMES), min_size=1, max_size=6),
       st.lists(st.tuples(st.integers(0, 400), st.integers(0, 255)), max_size=5),
       st.integers(1, 40))
def test_mutated_valid_frames_never_raise(frames: list[bytes],
                                          flips: list[tuple[int, int]], step: int) -> None:
    stream = bytearray(b"".join(frames))
    for index, value in flips:
        stream[index % len(stream)] = value
    session = ModbusSession(KEY, midstream=False)
    for start in range(0, len(stream), step):           # arbitrary segment boundaries
        for event in session.parse(bytes(stream[start:start + step]), to_server=True,
                                   ts_ns=start):
            assert isinstance(event, ModbusEvent | Anomaly)
            if isinstance(event, Anomaly):
                assert event.offset is not None and 0 <= event.offset <= len(stream)


def test_anomalies_per_connection_are_capped() -> None:
    session = ModbusSession(KEY, midstream=False)
    junk = b"".join(adu(i, 1, b"\x00") for i in range(200))     # function code 0, 200 times
    out = session.parse(junk, to_server=True, ts_ns=1)
    assert len(out) == 50 and session.anomalies == 200
    assert struct.unpack(">H", junk[:2]) == (0,)
