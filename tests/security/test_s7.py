"""The S7 dissector: TPKT/COTP framing and reassembly, S7comm jobs and acknowledgements,
user-data SZL reads with module identification, S7comm-plus classification, recognition
by content (and not of RDP), mid-stream pickup, bad frames as anomalies, fuzzing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from isthmus.security.craft import Endpoint, TcpConversation
from isthmus.security.dissectors import Match, by_name
from isthmus.security.dissectors.s7 import S7Event, S7Session
from isthmus.security.events import Anomaly, FlowKey
from isthmus.security.operations import OPERATIONS
from tests.security import builders_s7 as b
from tests.security.golden_ics import ICS_CASES
from tests.security.traffic import monitor, write_pcap
from tests.security.tshark_oracle import needs_tshark, tshark_values

KEY = FlowKey("10.0.0.2", 40000, "10.0.0.1", 102)


def feed(*chunks: tuple[bool, bytes], midstream: bool = False) -> list[S7Event | Anomaly]:
    session = S7Session(KEY, midstream=midstream)
    out: list[S7Event | Anomaly] = []
    for i, (to_server, data) in enumerate(chunks):
        out += session.parse(data, to_server=to_server, ts_ns=i)  # type: ignore[arg-type]
    return out


def events(out: list[S7Event | Anomaly]) -> list[S7Event]:
    assert not [e for e in out if isinstance(e, Anomaly)], out
    return [e for e in out if isinstance(e, S7Event)]


def job(param: bytes, data: bytes = b"", ref: int = 1) -> tuple[bool, bytes]:
    return True, b.dt(b.job(param, data, ref=ref))


def ack(param: bytes, data: bytes = b"", ref: int = 1, **kw: Any) -> tuple[bool, bytes]:
    return False, b.dt(b.ack_data(param, data, ref=ref, **kw))


def test_connection_request_and_confirm_carry_tsaps() -> None:
    request, confirm = events(feed((True, b.cotp_cr()), (False, b.cotp_cr(confirm=True))))
    assert (request.variant, request.function, request.operation) == \
        ("cotp", "connect_request", "session")
    assert request.detail == {"src_tsap": "0100", "dst_tsap": "0102"}
    assert (confirm.function, confirm.direction) == ("connect_confirm", "response")


def test_setup_communication_negotiates_the_pdu_size() -> None:
    request, answer = events(feed(job(b.setup_communication(480)),
                                  ack(b.setup_communication(240))))
    assert (request.function, request.operation, request.detail["pdu_length"]) == \
        ("setup_communication", "session", 480)
    assert (answer.rosctr, answer.paired, answer.detail["pdu_length"]) == \
        ("ack_data", True, 240)


def test_read_var_items_and_the_paired_response_values() -> None:
    out = events(feed(job(b.read_var(b.any_item(0x84, 7, 12, 4), b.any_item(0x83, 0, 1, 1)),
                          ref=9),
                      ack(b"\x04\x02", b.data_item(b"\x01\x02\x03\x04") +
                          b.data_item(b"\x07"), ref=9)))
    request, answer = out
    assert request.items == [
        {"area": "data_block", "db": 7, "byte": 12, "bit": 0, "transport_size": 2,
         "length": 4},
        {"area": "flags", "db": 0, "byte": 1, "bit": 0, "transport_size": 2, "length": 1}]
    assert (request.operation, request.address, request.quantity) == ("read", 12, 4)
    assert (answer.paired, answer.values, answer.address) == (True, [1, 2, 3, 4], 12)
    assert answer.detail["return_codes"] == [0xFF, 0xFF]


def test_write_var_values_and_response_return_codes() -> None:
    out = events(feed(job(b.write_var(b.any_item(0x82, 0, 3, 1, bit=2)),
                          b.data_item(b"\x01", code=0, transport=3), ref=4),
                      ack(b"\x05\x01", b"\xff", ref=4)))
    request, answer = out
    assert (request.operation, request.values, request.items[0]["bit"]) == ("write", [1], 2)
    assert (answer.operation, answer.detail["return_codes"]) == ("write", [0xFF])


@pytest.mark.parametrize(("param", "function", "operation"), [
    (b.download_param(0x1A), "request_download", "download"),
    (b.download_param(0x1B), "download_block", "download"),
    (b.download_param(0x1C), "download_ended", "download"),
    (b.upload_param(0x1D), "start_upload", "upload"),
    (b.upload_param(0x1E), "upload", "upload"),
    (b.upload_param(0x1F), "end_upload", "upload"),
    (b.plc_stop(), "plc_stop", "cpu_stop"),
    (b.plc_control(b"P_PROGRAM"), "plc_control", "cpu_start"),
    (b.plc_control(b"_INSE", b"\x00\x010800001P"), "plc_control", "download"),
    (b.plc_control(b"_DELE", b"\x00\x010A00001B"), "plc_control", "program"),
    (b.plc_control(b"_MODU"), "plc_control", "program"),
])
def test_program_transfer_and_cpu_control(param: bytes, function: str, operation: str) -> None:
    (event,) = events(feed(job(param)))
    assert (event.function, event.operation) == (function, operation)
    assert operation in OPERATIONS


def test_download_names_the_block() -> None:
    (event,) = events(feed(job(b.download_param(0x1A, "0E", 42))))
    assert (event.detail["block_type"], event.detail["block_number"]) == ("FB", 42)


def test_plc_control_names_its_pi_service_and_the_ack_keeps_the_operation() -> None:
    out = events(feed(job(b.plc_control(b"_INSE", b"\x00\x010800001P"), ref=3),
                      ack(b"\x28", ref=3)))
    assert [(e.detail["pi_service"], e.operation, e.direction) for e in out] == [
        ("_INSE", "download", "request"), ("_INSE", "download", "response")]


def test_ack_with_an_error_exposes_it_as_exception_code() -> None:
    (_request, answer) = events(feed(job(b.plc_stop(), ref=2), ack(b"\x29", ref=2,
                                                                   error=0x8104)))
    assert answer.fields()["exception_code"] == 0x8104


def test_szl_module_identification_gives_the_device_identity() -> None:
    out = events(feed((True, b.dt(b.szl_request(0x0011, ref=5))),
                      (False, b.dt(b.szl_module_identification("6ES7 315-2EH14-0AB0",
                                                               (3, 2, 8), ref=5)))))
    request, answer = out
    assert (request.function, request.operation, request.detail["szl_id"]) == \
        ("read_szl", "identify", "0x0011")
    assert request.device_identity() is None
    assert answer.device_identity() == {"vendor": "Siemens",
                                        "product_code": "6ES7 315-2EH14-0AB0",
                                        "hardware": "V1.0.0", "firmware": "V3.2.8"}


def test_szl_component_identification_gives_serial_and_model() -> None:
    (answer,) = events(feed((False, b.dt(b.szl_component_identification(
        "S C-X4U421302009", "CPU 315-2 PN/DP")))))
    assert answer.identity == {"serial": "S C-X4U421302009", "model": "CPU 315-2 PN/DP"}


@pytest.mark.parametrize(("group", "sub", "function", "operation"), [
    (7, 1, "read_clock", "read"), (7, 2, "set_clock", "time_sync"),
    (3, 1, "list_blocks", "browse"), (5, 1, "plc_password", "session"),
    (2, 1, "cyclic_data", "subscribe")])
def test_userdata_groups(group: int, sub: int, function: str, operation: str) -> None:
    (event,) = events(feed((True, b.dt(b.userdata(group, sub, b"\x0a\x00\x00\x00")))))
    assert (event.function, event.operation, event.direction) == (function, operation,
                                                                  "request")


def test_message_split_over_cotp_tpdus_and_several_tpkts_in_one_chunk() -> None:
    message = b.job(b.read_var(*[b.any_item(0x84, 1, i, 2) for i in range(10)]))
    stream = b.split_dt(message, 16) + b.dt(b.job(b.plc_stop(), ref=2))
    assert stream.count(b"\x03\x00") >= 9
    out = events(feed((True, stream)))
    assert [(e.function, len(e.items)) for e in out] == [("read_var", 10), ("plc_stop", 0)]
    out = events(feed(*[(True, stream[i:i + 5]) for i in range(0, len(stream), 5)]))
    assert [e.function for e in out] == ["read_var", "plc_stop"]


@pytest.mark.parametrize(("function", "name", "operation"), [
    (0x04BB, "explore", "browse"), (0x04CA, "create_object", "session"),
    (0x04D4, "delete_object", "session"), (0x04F2, "set_variable", "write"),
    (0x054C, "get_multi_variables", "read"), (0x0542, "set_multi_variables", "write"),
    (0x056B, "invoke", "call"), (0x0999, "function_0x0999", "other")])
def test_s7comm_plus_is_classified(function: int, name: str, operation: str) -> None:
    (request,) = events(feed((True, b.dt(b.s7plus(0x31, function, version=3)))))
    assert (request.variant, request.function, request.operation) == \
        ("s7comm-plus", name, operation)
    (answer,) = events(feed((False, b.dt(b.s7plus(0x32, function)))))
    assert (answer.direction, answer.rosctr) == ("response", "response")


def test_non_s7_payload_and_bad_tpkt_are_anomalies_with_offsets() -> None:
    good = b.dt(b.job(b.plc_stop()))
    out = feed((True, good + b.dt(b"\x0d\x0e\x0f") + b"\x03\x00\x00\x02xxxx" + good))
    anomalies = [(a.reason, a.offset) for a in out if isinstance(a, Anomaly)]
    assert anomalies == [("not-s7", len(good)), ("bad-tpkt", len(good) + 10)]
    assert len([e for e in out if isinstance(e, S7Event)]) == 2


def test_other_iso_on_tcp_payloads_are_reported_once_per_connection() -> None:
    mms = b.dt(b"\x01\x00\x01\x00\x61\x20")
    out = feed((True, b.cotp_cr()), *[(True, mms)] * 5)
    assert [a.reason for a in out if isinstance(a, Anomaly)] == ["not-s7"]


def test_malformed_s7comm_header_is_an_anomaly() -> None:
    message = b.job(b.plc_stop())
    broken = message[:6] + b"\x01\x00" + message[8:]      # parameter length 256
    (anomaly,) = feed((True, b.dt(broken)))
    assert isinstance(anomaly, Anomaly) and anomaly.reason == "malformed-pdu"
    assert anomaly.offset == 0


def test_picked_up_midstream() -> None:
    stream = b.dt(b.job(b.plc_stop(), ref=1)) + b.dt(b.job(b.download_param(0x1B), ref=2))
    out = events(feed((True, stream[5:]), midstream=True))
    assert [e.function for e in out] == ["download_block"]


def test_match_accepts_s7_and_leaves_rdp_and_mms_alone() -> None:
    s7 = by_name("s7")
    assert s7.match(b.cotp_cr(), b"", midstream=False) is Match.MAYBE
    assert s7.match(b.cotp_cr() + b.dt(b.job(b.setup_communication())), b"",
                    midstream=False) is Match.YES
    assert s7.match(b.rdp_cr(), b"", midstream=False) is Match.NO
    assert s7.match(b.cotp_cr() + b.dt(b"\x01\x00\x01\x00"), b"", midstream=False) is Match.NO
    assert s7.match(b"\x16\x03\x01\x02\x00", b"", midstream=False) is Match.NO
    assert s7.match(b"zz" + b.dt(b.job(b.plc_stop())), b"", midstream=True) is Match.YES


def test_s7_on_another_port_is_recognised_by_content(tmp_path: Path) -> None:
    conv = TcpConversation(Endpoint("10.9.0.2", 41000), Endpoint("10.9.0.1", 10102))
    frames = conv.handshake()
    frames += [conv.send(True, b.cotp_cr()), conv.send(False, b.cotp_cr(confirm=True)),
               conv.send(True, b.dt(b.job(b.setup_communication()))),
               conv.send(False, b.dt(b.ack_data(b.setup_communication()))),
               conv.send(True, b.dt(b.job(b.plc_stop(), ref=2)))]
    found, _ = monitor(write_pcap(tmp_path / "s7.pcap", frames))
    s7 = [e for e in found if isinstance(e, S7Event)]
    assert [e.function for e in s7] == ["connect_request", "connect_confirm",
                                        "setup_communication", "setup_communication",
                                        "plc_stop"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.binary(max_size=300)), max_size=8),
       st.booleans())
def test_arbitrary_bytes_never_raise(chunks: list[tuple[bool, bytes]], midstream: bool) -> None:
    session = S7Session(KEY, midstream=midstream)
    for to_server, data in chunks:
        for event in session.parse(data, to_server=to_server, ts_ns=0):
            assert isinstance(event, (S7Event, Anomaly))
        by_name("s7").match(data, data, midstream=midstream)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from([1, 2, 3, 7]), st.binary(max_size=60), st.binary(max_size=60),
       st.booleans())
def test_arbitrary_s7comm_messages_never_raise(rosctr: int, param: bytes, data: bytes,
                                               to_server: bool) -> None:
    for event in feed((to_server, b.dt(b.s7(rosctr, param, data)))):
        assert isinstance(event, (S7Event, Anomaly))


@pytest.mark.slow
@needs_tshark
def test_function_codes_agree_with_tshark(tmp_path: Path) -> None:
    linktype, frames = ICS_CASES["s7-download-and-stop"]()
    pcap = write_pcap(tmp_path / "s7.pcap", frames, linktype=linktype)
    found, _ = monitor(pcap)
    ours = [e.function_code for e in found if isinstance(e, S7Event)
            and e.rosctr in ("job", "ack_data")]
    assert ours == [int(v, 16) for v in tshark_values(pcap, "s7comm.param.func")]
    assert len(ours) >= 15


def test_after_a_gap_the_partial_cotp_message_is_dropped() -> None:
    session = S7Session(KEY, midstream=False)
    split = b.split_dt(b.job(b.read_var(*[b.any_item(0x84, 1, i, 2) for i in range(4)])), 20)
    session.parse(split[:30], to_server=True, ts_ns=0)
    assert session.gap(to_server=True, missing=7, ts_ns=1) == []
    out = session.parse(split[40:] + b.dt(b.job(b.plc_stop(), ref=2)), to_server=True,
                        ts_ns=2)
    assert [e.function for e in out if isinstance(e, S7Event)] == ["plc_stop"]


def test_regression_szl_answer_with_one_byte_records_is_ignored() -> None:
    """Found by mutation fuzzing: an SZL answer whose record length is 1 raised
    IndexError."""
    body = bytes.fromhex("0011 0000 0001 0003") + b"\x01\x02\x03"
    data = bytes([0xFF, 0x09]) + len(body).to_bytes(2, "big") + body
    (event,) = events(feed((False, b.dt(b.userdata(4, 1, data, response=True)))))
    assert (event.function, event.identity) == ("read_szl", {})


def test_regression_block_number_with_a_latin1_superscript_digit() -> None:
    """Found by mutation fuzzing: '³' passes str.isdigit but not int()."""
    param = bytes([0x1A, 0, 0, 0]) + b"\0\0\0\0" + b"\x09_08000\xb31P"
    (event,) = events(feed(job(param)))
    assert event.detail["block_type"] == "OB" and "block_number" not in event.detail
