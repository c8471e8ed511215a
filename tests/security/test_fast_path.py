"""The fast paths (Ethernet/IPv4/TCP in-order segments; one whole Modbus read per chunk)
give exactly what the general path gives, on traffic that keeps leaving and re-entering
them, and leave nothing behind when flows end."""

from __future__ import annotations

import collections
import dataclasses
import json
import struct
from pathlib import Path
from typing import Any

from isthmus.model import Severity
from isthmus.security import Monitor, MonitorEvent
from isthmus.security.craft import (
    Endpoint,
    TcpConversation,
    ethernet,
    ipv4,
    tcp,
)
from isthmus.security.dissectors.modbus import ModbusSession
from isthmus.security.events import FlowKey
from isthmus.security.packets import TCP_ACK, TCP_PSH
from tests.security.traffic import (
    PLC,
    T0,
    adu,
    normalised_jsonl,
    read_request,
    registers_response,
    write_pcap,
)

# Read requests and responses that the fast path takes, and near misses it must hand on:
# out-of-spec quantities, odd byte counts, a short answer, an unpaired response, coil bits.
READS: list[tuple[bool, bytes]] = [
    (True, read_request(1, fc=3, address=10, count=2)),
    (False, registers_response(1, [7, 8])),
    (True, read_request(2, fc=1, address=0, count=10)),
    (False, adu(2, 1, b"\x01\x02\xff\x03")),
    (True, read_request(3, fc=2, count=3)),
    (False, adu(3, 1, b"\x02\x01\x05")),
    (True, read_request(4, fc=4, count=0)),                  # quantity 0: out of spec
    (False, adu(4, 1, b"\x04\x00")),
    (True, read_request(5, fc=3, count=200)),                # more than 125 registers
    (False, registers_response(5, [1, 2])),                  # and fewer answered
    (True, read_request(6, fc=3, count=2)),
    (False, adu(6, 1, b"\x03\x03\x00\x01\x02")),             # odd byte count
    (False, registers_response(99, [4])),                    # no request seen
    (True, adu(7, 1, b"\x03\x00\x01\x00")),                  # request cut short
    (False, adu(7, 1, b"\x83\x02")),                         # exception answer
    (True, read_request(8, fc=4, count=1)),
    (True, read_request(9, fc=4, count=1)),                  # two pending at once
    (False, registers_response(9, [9], fc=4)),
    (False, registers_response(8, [8], fc=4)),
    (True, registers_response(10, [1])),                     # a response-shaped request
]


def _events(chunks: list[tuple[bool, bytes]]) -> list[object]:
    session = ModbusSession(FlowKey("10.0.0.2", 40000, "10.0.0.1", 502), midstream=False)
    out: list[object] = []
    for to_server, data in chunks:
        out += session.parse(data, to_server=to_server, ts_ns=T0)
    return out


def test_modbus_events_do_not_depend_on_how_the_stream_is_cut() -> None:
    whole_adus = _events(READS)                      # one ADU per chunk: the fast path
    byte_by_byte = _events([(d, bytes([b])) for d, data in READS for b in data])
    assert whole_adus == byte_by_byte
    kinds = [(type(e).__name__, getattr(e, "function_code", getattr(e, "reason", None)))
             for e in whole_adus]
    assert kinds.count(("Anomaly", "out-of-spec")) == 3
    assert ("Anomaly", "malformed-pdu") in kinds
    values = [getattr(e, "values", None) for e in whole_adus]
    assert [7, 8] in values and [1, 1, 1, 1, 1, 1, 1, 1, 1, 1] in values and [1, 0, 1] in values


def _mixed_frames() -> list[bytes]:
    """Polling that leaves the fast path and comes back: retransmission, reordering, a
    lost segment, a VLAN tag, IPv4 options, pipelined and split ADUs, a reconnect, a reset."""
    hmi = TcpConversation(Endpoint("10.10.0.2", 49152, "02:00:00:00:00:02"), PLC)
    frames = hmi.handshake()
    for tid in range(1, 30):
        request = hmi.send(True, read_request(tid, fc=3 + tid % 2, count=2))
        extra = hmi.send(True, read_request(100 + tid)) if tid == 8 else b""
        response = hmi.send(False, registers_response(tid, [tid, tid + 1], fc=3 + tid % 2))
        if tid == 5:
            frames += [request, request, response]                   # retransmitted
        elif tid == 8:
            frames += [extra, request, response]                     # reordered
        elif tid == 11:
            frames += [response]                                     # request lost
        else:
            frames += [request, response]
    tagged = TcpConversation(Endpoint("10.10.0.4", 49200, "02:00:00:00:00:04"), PLC,
                             link=lambda ip, s, d: ethernet(ip, src=s.mac, dst=d.mac,
                                                            vlans=(7,)))
    frames += tagged.handshake()
    frames += [tagged.send(True, read_request(1)), tagged.send(False, registers_response(1, [1]))]
    seq = hmi.next_seq[True]
    options = ethernet(ipv4(tcp(read_request(40), sport=49152, dport=502, seq=seq,
                                ack=hmi.next_seq[False], flags=TCP_ACK | TCP_PSH),
                            src="10.10.0.2", dst="10.10.0.1", options=b"\x01\x01\x01\x00"),
                       src="02:00:00:00:00:02", dst=PLC.mac)
    hmi.next_seq[True] += len(read_request(40))
    frames += [options, hmi.send(False, registers_response(40, [4, 0]))]
    frames.append(hmi.send(True, read_request(41) + read_request(42)))
    both = registers_response(41, [1, 1]) + registers_response(42, [2, 2])
    frames += [hmi.send(False, both[:6]), hmi.send(False, both[6:20]), hmi.send(False, both[20:])]
    frames += hmi.close()
    again = TcpConversation(Endpoint("10.10.0.2", 49153, "02:00:00:00:00:02"), PLC)
    frames += again.handshake()
    for tid in range(50, 60):
        frames += [again.send(True, read_request(tid)),
                   again.send(False, registers_response(tid, [tid, 0]))]
    frames.append(again.reset(True))
    return frames


def _run(path: Path, *, fast_path: bool) -> tuple[list[str], dict[str, Any], Monitor]:
    events: list[MonitorEvent] = []
    mon = Monitor(sink=events.append, fast_path=fast_path)
    mon.read(path)
    summary = dataclasses.asdict(mon.finish())
    return normalised_jsonl(events), summary, mon


def test_fast_path_gives_what_the_general_path_gives(tmp_path: Path) -> None:
    frames = _mixed_frames()
    path = write_pcap(tmp_path / "mixed.pcap", frames)
    fast_events, fast_summary, fast = _run(path, fast_path=True)
    slow_events, slow_summary, _ = _run(path, fast_path=False)
    assert fast_events == slow_events
    assert fast_summary == slow_summary
    assert fast_summary["frames"] == len(frames)
    assert fast_summary["reassembly"]["gaps"] == 1
    assert fast_summary["reassembly"]["retransmitted_segments"] == 1
    assert fast_summary["reassembly"]["out_of_order_segments"] == 1
    assert fast.reassembler.fast_entries == 0           # every flow ended: nothing left
    severities = collections.Counter(json.loads(line)["event"]["severity"]
                                     for line in fast_events)
    assert {Severity[name.upper()].value: count for name, count in
            fast_summary["events_by_severity"].items()} == dict(severities)


def test_capture_time_going_backwards_is_handled_like_the_general_path(tmp_path: Path) -> None:
    conv = TcpConversation(Endpoint("10.10.0.2", 49152, "02:00:00:00:00:02"), PLC)
    frames = conv.handshake()
    for tid in range(1, 6):
        frames += [conv.send(True, read_request(tid)), conv.send(False,
                                                                 registers_response(tid, [1, 2]))]
    path = tmp_path / "backwards.pcap"
    write_pcap(path, frames)
    data = bytearray(path.read_bytes())
    # frame 6 (0-based) gets an earlier timestamp than frame 5: rewrite its record's seconds
    pos, index = 24, 0
    while index < 6:
        pos += 16 + struct.unpack_from("<I", data, pos + 8)[0]
        index += 1
    struct.pack_into("<I", data, pos, struct.unpack_from("<I", data, pos)[0] - 1)
    path.write_bytes(bytes(data))
    fast_events, fast_summary, _ = _run(path, fast_path=True)
    slow_events, slow_summary, _ = _run(path, fast_path=False)
    assert (fast_events, fast_summary) == (slow_events, slow_summary)
    assert fast_summary["events"] == 10
