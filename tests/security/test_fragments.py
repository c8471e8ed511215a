"""IP fragment reassembly: IPv4 and IPv6 fragments in and out of order give the same events
as the unfragmented datagrams; overlaps with different bytes and incomplete datagrams are
anomalies; a flood of distinct fragment ids stays bounded."""

from __future__ import annotations

import dataclasses
import itertools
import struct
from collections.abc import Sequence
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from isthmus.security.capture import LINKTYPE_ETHERNET, Frame
from isthmus.security.craft import ETH_IPV6, Endpoint, ethernet, ipv4, ipv6, udp
from isthmus.security.events import Anomaly, ProtocolEvent
from isthmus.security.fragments import FragmentReassembler
from isthmus.security.packets import UDP, Packet, PacketDecoder
from tests.security.samples import BACNET_DATAGRAMS, dns_query
from tests.security.traffic import monitor, write_pcap

CONTROLLER = Endpoint("10.30.0.9", 47808, "02:00:00:00:00:09")
WORKSTATION = Endpoint("10.30.0.5", 47808, "02:00:00:00:00:05")
SECOND = 1_000_000_000


def v4_fragments(payload: bytes, sizes: list[int], *, src: str, dst: str,
                 ident: int = 7) -> list[bytes]:
    """Ethernet frames carrying `payload` (a UDP datagram) cut at the given sizes (each a
    multiple of 8 but the last, which takes the rest)."""
    frames, offset = [], 0
    for i, size in enumerate([*sizes, len(payload)]):
        piece = payload[offset:offset + size]
        more = 0x2000 if offset + len(piece) < len(payload) else 0
        frames.append(ethernet(ipv4(piece, src=src, dst=dst, protocol=UDP, ident=ident,
                                    flags_fragment=more | offset // 8)))
        offset += len(piece)
        if offset >= len(payload) or i == len(sizes):
            break
    return frames


def v6_fragment(piece: bytes, offset: int, more: bool, *, src: str, dst: str,
                ident: int = 9) -> bytes:
    header = struct.pack("!HI", offset | int(more), ident)
    return ethernet(ipv6(piece, src=src, dst=dst, protocol=UDP, extensions=((44, header),)),
                    ethertype=ETH_IPV6)


def decode_all(frames: list[bytes], step_ns: int = 1000) -> tuple[
        PacketDecoder, list[Packet | Anomaly]]:
    decoder = PacketDecoder()
    out: list[Packet | Anomaly] = []
    for i, data in enumerate(frames):
        result = decoder.decode(Frame(i * step_ns, LINKTYPE_ETHERNET, data, len(data)))
        if result is not None:
            out.append(result)
    out.extend(decoder.flush_fragments(len(frames) * step_ns))
    return decoder, out


def _untimed(events: Sequence[object]) -> list[object]:
    return [dataclasses.replace(e, ts_ns=0) for e in events if isinstance(e, ProtocolEvent)]


def test_bacnet_fragmented_in_and_out_of_order_gives_the_same_events(tmp_path: Path) -> None:
    whole: list[bytes] = []
    pieces: list[bytes] = []
    for to_server, data in BACNET_DATAGRAMS:
        src, dst = (WORKSTATION, CONTROLLER) if to_server else (CONTROLLER, WORKSTATION)
        datagram = udp(data, sport=src.port, dport=dst.port)
        whole.append(ethernet(ipv4(datagram, src=src.ip, dst=dst.ip, protocol=UDP)))
        frags = v4_fragments(datagram, [8, 8, 8] if len(datagram) > 24 else [8],
                             src=src.ip, dst=dst.ip, ident=len(pieces))
        pieces.extend(frags if len(pieces) % 2 else frags[::-1])
    plain, _ = monitor(write_pcap(tmp_path / "whole.pcap", whole))
    split, summary = monitor(write_pcap(tmp_path / "split.pcap", pieces))
    assert len(_untimed(plain)) == 10
    assert _untimed(split) == _untimed(plain)
    assert not [e for e in split if isinstance(e, Anomaly)]
    assert summary.decode["fragments"] == len(pieces)
    assert summary.decode["fragments_reassembled"] == 10


def test_the_packet_takes_the_last_fragment_time_and_link_details() -> None:
    datagram = udp(dns_query(), sport=53001, dport=53)
    frames = v4_fragments(datagram, [16, 16], src="10.0.0.1", dst="10.0.0.2")
    _, out = decode_all([frames[2], frames[0], frames[1]])
    assert len(out) == 1 and isinstance(out[0], Packet)
    assert (out[0].ts_ns, out[0].sport, out[0].dport) == (2000, 53001, 53)
    assert out[0].payload == dns_query() and out[0].src_mac == "02:00:00:00:00:01"


@given(st.permutations(range(4)))
@settings(max_examples=30, deadline=None)
def test_ipv6_fragments_in_any_order_reassemble(order: list[int]) -> None:
    datagram = udp(dns_query("plc7.plant.local"), sport=40000, dport=53)
    cuts = [0, 8, 24, 32, len(datagram)]
    frags = [v6_fragment(datagram[a:b], a, b < len(datagram), src="fd00::1", dst="fd00::2")
             for a, b in itertools.pairwise(cuts)]
    decoder, out = decode_all([frags[i] for i in order])
    assert len(out) == 1 and isinstance(out[0], Packet)
    assert (out[0].ip_version, out[0].src, out[0].protocol) == (6, "fd00::1", UDP)
    assert out[0].payload == dns_query("plc7.plant.local")
    assert decoder.stats.fragments == 4 and decoder.stats.fragments_incomplete == 0


def test_overlap_with_different_bytes_is_an_anomaly_and_the_first_bytes_win() -> None:
    datagram = udp(b"A" * 32, sport=1000, dport=2000)
    frames = v4_fragments(datagram, [16], src="10.0.0.1", dst="10.0.0.2")
    forged = udp(b"B" * 32, sport=1000, dport=2000)[8:16]   # offset 8: overlaps bytes 8–15
    overlap = ethernet(ipv4(forged, src="10.0.0.1", dst="10.0.0.2", protocol=UDP, ident=7,
                            flags_fragment=0x2000 | 1))
    _, out = decode_all([frames[0], overlap, frames[1]])
    anomalies = [a for a in out if isinstance(a, Anomaly)]
    packets = [p for p in out if isinstance(p, Packet)]
    assert [(a.layer, a.reason, a.offset) for a in anomalies] == [
        ("ip", "fragment-overlap", 8)]
    assert packets[0].payload == b"A" * 32


def test_overlap_with_equal_bytes_is_quiet() -> None:
    datagram = udp(b"A" * 32, sport=1000, dport=2000)
    frames = v4_fragments(datagram, [16], src="10.0.0.1", dst="10.0.0.2")
    again = ethernet(ipv4(datagram[8:24], src="10.0.0.1", dst="10.0.0.2", protocol=UDP,
                          ident=7, flags_fragment=0x2000 | 1))
    _, out = decode_all([frames[0], again, frames[1]])
    assert [type(x) for x in out] == [Packet]


def test_incomplete_datagram_is_counted_and_reported_once() -> None:
    datagram = udp(b"x" * 40, sport=1000, dport=2000)
    first = v4_fragments(datagram, [16], src="10.0.0.1", dst="10.0.0.2")[0]
    later = v4_fragments(datagram, [16], src="10.0.0.3", dst="10.0.0.2", ident=8)[0]
    decoder, out = decode_all([first, later, later], step_ns=20 * SECOND)
    reasons = [(a.reason, "10.0.0.1" in a.message) for a in out if isinstance(a, Anomaly)]
    assert reasons == [("fragment-incomplete", True), ("fragment-incomplete", False)]
    assert decoder.stats.fragments_incomplete == 2


def test_oversized_datagram_is_dropped() -> None:
    ping_of_death = ethernet(ipv4(b"z" * 64, src="10.0.0.1", dst="10.0.0.2", protocol=UDP,
                                  flags_fragment=8190))       # ends at 65,584 bytes
    _, out = decode_all([ping_of_death])
    assert [a.reason for a in out if isinstance(a, Anomaly)] == ["fragment-incomplete"]
    assert isinstance(out[0], Anomaly) and "65535-byte limit" in out[0].message


@given(st.integers(min_value=1, max_value=40))
@settings(max_examples=10, deadline=None)
def test_a_flood_of_distinct_ids_stays_bounded(limit: int) -> None:
    frags = FragmentReassembler(max_datagrams=limit)
    for ident in range(limit * 3):
        assert frags.add((4, b"\n\0\0\1", b"\n\0\0\2", ident, UDP), ident, 0, True,
                         b"\0" * 8, UDP) is None
        assert len(frags) <= limit
    assert frags.incomplete == limit * 2 == len(frags.anomalies)
    frags.flush(10**6)
    assert frags.incomplete == limit * 3 and len(frags) == 0


def test_default_decoder_keeps_at_most_4096_datagrams() -> None:
    decoder = PacketDecoder()
    for ident in range(5000):
        frame = ethernet(ipv4(b"\0" * 8, src="10.0.0.1", dst="10.0.0.2", protocol=UDP,
                              ident=ident, flags_fragment=0x2000))
        decoder.decode(Frame(ident, LINKTYPE_ETHERNET, frame, len(frame)))
    assert len(decoder.fragments) == 4096
    assert decoder.stats.fragments_incomplete == 5000 - 4096


def test_a_datagram_unfinished_at_the_end_of_the_capture_is_reported(tmp_path: Path) -> None:
    datagram = udp(BACNET_DATAGRAMS[0][1], sport=WORKSTATION.port, dport=CONTROLLER.port)
    first, *_rest = v4_fragments(datagram, [8], src=WORKSTATION.ip, dst=CONTROLLER.ip)
    events, summary = monitor(write_pcap(tmp_path / "cut.pcap", [first]))
    (anomaly,) = [e for e in events if isinstance(e, Anomaly)]
    assert (anomaly.layer, anomaly.reason) == ("ip", "fragment-incomplete")
    assert anomaly.source.endswith("cut.pcap")
    assert summary.decode["fragments_incomplete"] == 1
    assert not [e for e in events if isinstance(e, ProtocolEvent)]
