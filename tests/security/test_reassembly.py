"""TCP reassembly seen through Modbus: retransmissions, overlaps, reordering, gaps,
mid-stream pickup, ADUs split or packed across segments, and bounded flow tables."""

from __future__ import annotations

from pathlib import Path

from isthmus.security import Monitor
from isthmus.security.craft import Endpoint, TcpConversation
from isthmus.security.packets import Packet
from isthmus.security.reassembly import Reassembler, TcpFlow
from tests.security.traffic import (
    anomalies,
    conversation,
    modbus_fields,
    monitor,
    read_request,
    registers_response,
    write_pcap,
)


def requests(events: list) -> list[int]:  # type: ignore[type-arg]
    return [f["transaction_id"] for f in modbus_fields(events) if f["direction"] == "request"]


def test_retransmitted_segment_is_dissected_once(tmp_path: Path) -> None:
    conv = conversation()
    frames = conv.handshake()
    request = conv.send(True, read_request(1))
    frames += [request, request, conv.send(False, registers_response(1, [5, 6]))]
    events, summary = monitor(write_pcap(tmp_path / "c.pcap", frames))
    assert requests(events) == [1]
    assert summary.reassembly["retransmitted_segments"] == 1
    assert modbus_fields(events)[1]["values"] == [5, 6]


def test_out_of_order_segments_are_put_back_in_order(tmp_path: Path) -> None:
    conv = conversation()
    frames = conv.handshake()
    first, second = conv.send(True, read_request(1)), conv.send(True, read_request(2))
    frames += [second, first]
    events, summary = monitor(write_pcap(tmp_path / "c.pcap", frames))
    assert requests(events) == [1, 2]
    assert summary.reassembly["out_of_order_segments"] == 1


def test_overlapping_segment_keeps_only_the_new_bytes(tmp_path: Path) -> None:
    conv = conversation()
    frames = conv.handshake()
    one, two = read_request(1), read_request(2)
    start = conv.next_seq[True]
    frames.append(conv.segment(True, one[:8], seq=start))
    frames.append(conv.segment(True, one[4:] + two, seq=start + 4))   # re-sends 4 bytes
    events, summary = monitor(write_pcap(tmp_path / "c.pcap", frames))
    assert requests(events) == [1, 2]
    assert summary.reassembly["overlapping_segments"] == 1
    assert summary.anomalies == 0


def test_lost_segment_becomes_a_gap_and_the_dissector_resynchronises(tmp_path: Path) -> None:
    conv = conversation()
    frames = conv.handshake()
    frames.append(conv.send(True, read_request(1)))
    conv.send(True, read_request(2, count=7))            # never captured
    frames.append(conv.send(True, read_request(3)))
    frames.append(conv.send(False, registers_response(1, [1, 2])))   # acks all three
    frames.append(conv.send(True, read_request(4)))
    events, summary = monitor(write_pcap(tmp_path / "c.pcap", frames))
    assert requests(events) == [1, 3, 4]
    (gap,) = anomalies(events)
    assert (gap["layer"], gap["reason"], gap["offset"], gap["message"][:18]) == (
        "tcp", "gap", 12, "12 bytes missing f")
    assert summary.reassembly["gap_bytes"] == 12


def test_endless_hole_is_skipped_after_the_buffer_bound() -> None:
    delivered: list[bytes] = []
    gaps: list[int] = []

    class Sink:
        def on_open(self, flow: TcpFlow) -> None: ...
        def on_data(self, flow: TcpFlow, to_server: bool, data: bytes, ts: int) -> None:
            delivered.append(data)
        def on_gap(self, flow: TcpFlow, to_server: bool, offset: int, missing: int,
                   ts: int) -> None:
            gaps.append(missing)
        def on_close(self, flow: TcpFlow, reason: str, ts: int) -> None: ...

    reassembler = Reassembler(Sink(), max_pending_segments=4)
    for i in range(6):             # bytes 1010..1019 never seen: 1..5 wait, the bound hits
        reassembler.feed(Packet(i, "10.0.0.2", "10.0.0.1", 6, 40000, 502,
                                bytes([i]) * 10, seq=1010 + 10 * i if i else 1000, flags=0))
    assert delivered[0] == b"\0" * 10 and gaps == [10]
    assert delivered[1:] == [bytes([i]) * 10 for i in range(1, 6)]


def test_mid_stream_pickup_starts_at_a_plausible_adu(tmp_path: Path) -> None:
    conv = TcpConversation(Endpoint("10.10.0.2", 49152), Endpoint("10.10.0.1", 15020))
    conv.send(True, read_request(1))                          # before the capture started
    tail = read_request(2)
    frames = [conv.segment(True, tail[5:]), ]                 # the end of an ADU
    conv.next_seq[True] += len(tail) - 5
    frames += [conv.send(False, registers_response(2, [9, 9])),
               conv.send(True, read_request(3)), conv.send(False, registers_response(3, [8, 8]))]
    events, summary = monitor(write_pcap(tmp_path / "c.pcap", frames))
    assert [(f["transaction_id"], f["direction"]) for f in modbus_fields(events)] == [
        (2, "response"), (3, "request"), (3, "response")]
    assert summary.reassembly["midstream_pickups"] == 1
    assert summary.anomalies == 0


def test_several_adus_in_one_segment(tmp_path: Path) -> None:
    conv = conversation()
    frames = [*conv.handshake(),
              conv.send(True, read_request(1) + read_request(2) + read_request(3))]
    events, _ = monitor(write_pcap(tmp_path / "c.pcap", frames))
    assert requests(events) == [1, 2, 3]


def test_one_adu_split_over_three_segments(tmp_path: Path) -> None:
    conv = conversation()
    response = registers_response(1, range(50))
    frames = [*conv.handshake(), conv.send(True, read_request(1, count=50)),
              conv.send(False, response[:5]), conv.send(False, response[5:60]),
              conv.send(False, response[60:])]
    events, _ = monitor(write_pcap(tmp_path / "c.pcap", frames))
    assert modbus_fields(events)[1]["values"] == list(range(50))


def test_closed_and_idle_flows_leave_the_table(tmp_path: Path) -> None:
    frames = []
    for port in range(40000, 40010):
        conv = conversation(client=Endpoint("10.10.0.2", port))
        frames += [*conv.handshake(), conv.send(True, read_request(1)), *conv.close()]
    idle = conversation(client=Endpoint("10.10.0.9", 41000))
    frames[:0] = [*idle.handshake(), idle.send(True, read_request(1))]
    events: list = []  # type: ignore[type-arg]
    mon = Monitor(sink=events.append, idle_timeout_s=0.005)
    mon.read(write_pcap(tmp_path / "c.pcap", frames))
    assert mon.reassembler.active_flows == 0
    assert mon.reassembler.stats.closed_fin == 10
    assert mon.reassembler.stats.evicted_idle == 1


def test_flow_table_is_bounded_with_an_eviction_counter(tmp_path: Path) -> None:
    frames = []
    for port in range(40000, 40050):
        conv = conversation(client=Endpoint("10.10.0.2", port))
        frames += [*conv.handshake(), conv.send(True, read_request(1))]
    mon = Monitor(max_flows=16)
    mon.read(write_pcap(tmp_path / "c.pcap", frames))
    assert mon.reassembler.active_flows <= 16
    assert mon.reassembler.stats.evicted_capacity >= 34
    assert mon.finish().functions == {"modbus/read_holding_registers/request": 50}
