"""The DNP3, S7comm and EtherNet/IP sessions take a shortcut when a chunk is exactly one
whole, common message, and parse repeated requests once. Their events must not depend on
either: the same conversation cut byte by byte (which never takes the shortcut) or cut at
random gives the same events, near misses included."""

from __future__ import annotations

import struct

from hypothesis import given, settings
from hypothesis import strategies as st

from isthmus.security import craft_ics as ics
from isthmus.security.dissectors import Output, by_name
from isthmus.security.dissectors.dnp3 import Dnp3Event
from isthmus.security.dissectors.enip import EnipEvent
from isthmus.security.dissectors.s7 import S7Event
from isthmus.security.events import Anomaly, FlowKey

KEY = FlowKey("10.30.0.2", 40000, "10.30.0.1", 20000)
Conversation = list[tuple[bool, bytes]]


def _dnp3() -> Conversation:
    poll = [ics.dnp3_request(1, ics.dnp3_class_poll(), seq=seq) for seq in range(3)]
    answers = [ics.dnp3_response(ics.dnp3_analog_inputs(0, [seq, 7, -3]), seq=seq, iin=0x0102)
               for seq in range(3)]
    out: Conversation = []
    for request, answer in zip(poll, answers, strict=True):
        out += [(True, f) for f in ics.dnp3_frames(request)]
        out += [(False, f) for f in ics.dnp3_frames(answer, from_master=False)]
    long_answer = ics.dnp3_response(ics.dnp3_analog_inputs(0, list(range(100))), seq=3)
    out += [(True, ics.dnp3_frames(ics.dnp3_request(1, ics.dnp3_class_poll(), seq=3))[0])]
    out += [(False, f) for f in ics.dnp3_frames(long_answer, from_master=False)]  # 2 segments
    bad = bytearray(ics.dnp3_frames(ics.dnp3_request(1, ics.dnp3_class_poll(), seq=4))[0])
    bad[12] ^= 0xFF                                          # a user-data CRC is wrong
    out += [(True, bytes(bad))]
    out += [(True, ics.dnp3_link_frame(b"", dst=10, src=3, control=0xC9))]   # link status
    truncated = ics.dnp3_frames(bytes([0xC5, 1, 60, 2]))[0]  # object header cut short
    return [*out, (True, truncated)]


def _s7() -> Conversation:
    out: Conversation = [(True, ics.cotp_cr()), (False, ics.cotp_cr(confirm=True))]
    item = ics.any_item(0x84, 1, 0, 4)
    for ref in (7, 8, 9):
        out.append((True, ics.cotp_dt(ics.s7_job(ics.read_var(item), ref=ref))))
        answer = ics.s7_ack_data(bytes([4, 1]), ics.data_item(bytes([ref, 1, 2, 3])), ref=ref)
        out.append((False, ics.cotp_dt(answer)))
    answer = ics.s7_ack_data(bytes([4, 1]), ics.data_item(b"\x01\x02\x03\x04"), ref=10)
    out.append((True, ics.cotp_dt(ics.s7_job(ics.read_var(item), ref=10))))
    out += [(False, ics.cotp_dt(answer[:9], eot=False)), (False, ics.cotp_dt(answer[9:]))]
    out.append((True, ics.cotp_dt(ics.s7_job(ics.write_var(item), ics.data_item(b"\0" * 4),
                                             ref=11))))
    out.append((True, ics.cotp_dt(b"\x32\x01\x00")))        # an S7 header cut short
    return out


def _enip() -> Conversation:
    read = ics.cip_request(0x4C, ics.symbol_path("Line1_Speed"), b"\x01\x00")
    out: Conversation = [(True, ics.register_session()),
                         (False, ics.encap(0x65, b"\x01\x00\x00\x00"))]
    for n in range(3):
        context = struct.pack("<Q", n)
        answer = ics.cip_response(0x4C, struct.pack("<Hi", 0xC4, n))
        out += [(True, ics.send_rr(read, context=context)),
                (False, ics.send_rr(answer, context=context)),
                (True, ics.send_unit(read, seq=n)), (False, ics.send_unit(answer, seq=n))]
    out.append((False, ics.send_rr(ics.cip_response(0x4C, status=5), context=b"nobody!!")))
    out.append((True, ics.send_rr(b"\x4c\x09\x91")))          # path runs past the message
    out.append((True, ics.send_rr(b"")))                      # a data item with no CIP
    return out


CONVERSATIONS = {"dnp3": _dnp3, "s7": _s7, "enip": _enip}


def _parse(protocol: str, chunks: list[tuple[bool, bytes, int]]) -> Output:
    session = by_name(protocol).session(KEY, midstream=False)
    out: Output = []
    for to_server, data, ts in chunks:
        out += session.parse(data, to_server=to_server, ts_ns=ts)
    return out


def _whole(protocol: str) -> Output:
    return _parse(protocol, [(d, m, i) for i, (d, m) in enumerate(CONVERSATIONS[protocol]())])


def _byte_by_byte(protocol: str) -> Output:
    return _parse(protocol, [(d, bytes([b]), i)
                             for i, (d, m) in enumerate(CONVERSATIONS[protocol]()) for b in m])


def test_dnp3_events_do_not_depend_on_how_the_stream_is_cut() -> None:
    whole = _whole("dnp3")
    assert whole == _byte_by_byte("dnp3")
    dnp3 = [e for e in whole if isinstance(e, Dnp3Event)]
    assert [e.sequence for e in dnp3 if e.function == "read"] == [0, 1, 2, 3]
    assert [e.paired for e in dnp3 if e.direction == "response"][:4] == [True] * 4
    assert dnp3[1].iin == ["class_1_events", "no_func_code_support"]      # IIN 0x0102
    reasons = [e.reason for e in whole if isinstance(e, Anomaly)]
    assert reasons == ["bad-crc", "malformed-apdu"]


def test_s7_events_do_not_depend_on_how_the_stream_is_cut() -> None:
    whole = _whole("s7")
    assert whole == _byte_by_byte("s7")
    s7 = [e for e in whole if isinstance(e, S7Event) and e.variant == "s7comm"]
    assert [e.pdu_ref for e in s7 if e.rosctr == "job"] == [7, 8, 9, 10, 11]
    assert [e.values for e in s7 if e.rosctr == "ack_data"] == [
        [7, 1, 2, 3], [8, 1, 2, 3], [9, 1, 2, 3], [1, 2, 3, 4]]
    assert all(e.paired for e in s7 if e.rosctr == "ack_data")
    assert [e.reason for e in whole if isinstance(e, Anomaly)] == ["malformed-pdu"]


def test_enip_events_do_not_depend_on_how_the_stream_is_cut() -> None:
    whole = _whole("enip")
    assert whole == _byte_by_byte("enip")
    enip = [e for e in whole if isinstance(e, EnipEvent)]
    answers = [e for e in enip if e.function == "read_tag" and e.direction == "response"]
    assert [e.values for e in answers][:6] == [[0], [0], [1], [1], [2], [2]]
    assert [e.paired for e in answers] == [True] * 6 + [False]
    assert [e.reason for e in whole if isinstance(e, Anomaly)] == ["malformed", "malformed"]


@settings(max_examples=40, deadline=None)
@given(protocol=st.sampled_from(sorted(CONVERSATIONS)), data=st.data())
def test_any_cut_gives_the_events_of_whole_messages(protocol: str, data: st.DataObject) -> None:
    chunks: list[tuple[bool, bytes, int]] = []
    for i, (to_server, message) in enumerate(CONVERSATIONS[protocol]()):
        cuts = sorted(data.draw(st.sets(st.integers(1, len(message) - 1), max_size=3)))
        for start, end in zip([0, *cuts], [*cuts, len(message)], strict=True):
            chunks.append((to_server, message[start:end], i))
    assert _parse(protocol, chunks) == _whole(protocol)
