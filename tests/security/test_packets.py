"""Frames to packets over every supported link type; malformed frames become anomalies
with offsets; random bytes never raise."""

from __future__ import annotations

import struct

from hypothesis import given, settings
from hypothesis import strategies as st

from isthmus.security.capture import (
    LINKTYPE_ETHERNET,
    LINKTYPE_LINUX_SLL,
    LINKTYPE_LINUX_SLL2,
    LINKTYPE_NULL,
    LINKTYPE_RAW,
    Frame,
)
from isthmus.security.craft import (
    ETH_IPV6,
    ethernet,
    ipv4,
    ipv6,
    linux_sll,
    linux_sll2,
    loopback,
    tcp,
    udp,
)
from isthmus.security.events import Anomaly
from isthmus.security.packets import TCP, UDP, Packet, PacketDecoder

SEGMENT = tcp(b"hello", sport=40000, dport=502, seq=7, ack=9)
IP4 = ipv4(SEGMENT, src="192.168.1.10", dst="192.168.1.20")


def decode(data: bytes, linktype: int = LINKTYPE_ETHERNET,
           orig_len: int | None = None) -> Packet | Anomaly | None:
    return PacketDecoder().decode(Frame(1, linktype, data, orig_len or len(data)))


def test_ethernet_ipv4_tcp_gives_addresses_ports_sequence_and_payload() -> None:
    packet = decode(ethernet(IP4, src="02:aa:bb:cc:dd:ee"))
    assert isinstance(packet, Packet)
    assert (packet.src, packet.sport, packet.dst, packet.dport) == (
        "192.168.1.10", 40000, "192.168.1.20", 502)
    assert (packet.protocol, packet.seq, packet.ack, packet.payload) == (TCP, 7, 9, b"hello")
    assert packet.src_mac == "02:aa:bb:cc:dd:ee"


def test_ethernet_padding_is_not_taken_for_payload() -> None:
    tiny = ipv4(tcp(b"", sport=1, dport=2, seq=0), src="10.0.0.1", dst="10.0.0.2")
    packet = decode(ethernet(tiny))               # padded to 60 bytes
    assert isinstance(packet, Packet) and packet.payload == b""


def test_ipv4_options_are_skipped() -> None:
    packet = decode(ethernet(ipv4(SEGMENT, src="10.0.0.1", dst="10.0.0.2",
                                  options=b"\x94\x04\x00\x00")))     # router alert
    assert isinstance(packet, Packet) and packet.payload == b"hello"


def test_vlan_and_qinq_tags_are_read_outermost_first() -> None:
    single = decode(ethernet(IP4, vlans=(10,)))
    double = decode(ethernet(IP4, vlans=(100, 20)))
    assert isinstance(single, Packet) and single.vlans == (10,)
    assert isinstance(double, Packet) and double.vlans == (100, 20)
    assert double.payload == b"hello"


def test_ipv6_extension_headers_are_skipped() -> None:
    packet6 = ipv6(udp(b"dns?", sport=5353, dport=53), src="fd00::1", dst="fd00::2",
                   protocol=UDP, extensions=((0, b"\x01\x02"), (60, b"")))
    packet = decode(ethernet(packet6, ethertype=ETH_IPV6))
    assert isinstance(packet, Packet)
    assert (packet.src, packet.dst, packet.protocol, packet.payload) == (
        "fd00::1", "fd00::2", UDP, b"dns?")
    assert packet.ip_version == 6


def test_cooked_loopback_and_raw_link_types() -> None:
    for data, linktype in ((linux_sll(IP4), LINKTYPE_LINUX_SLL),
                           (linux_sll2(IP4), LINKTYPE_LINUX_SLL2),
                           (loopback(IP4), LINKTYPE_NULL), (IP4, LINKTYPE_RAW)):
        packet = decode(data, linktype)
        assert isinstance(packet, Packet), linktype
        assert (packet.dst, packet.payload) == ("192.168.1.20", b"hello"), linktype


def test_fragments_are_counted_not_decoded() -> None:
    decoder = PacketDecoder()
    first = ipv4(SEGMENT, src="10.0.0.1", dst="10.0.0.2", flags_fragment=0x2000)  # MF
    assert decoder.decode(Frame(1, LINKTYPE_ETHERNET, ethernet(first), 0)) is None
    assert decoder.stats.fragments == 1


def test_non_ip_frames_are_counted_by_ethertype() -> None:
    decoder = PacketDecoder()
    arp = ethernet(b"\0" * 28, ethertype=0x0806)
    assert decoder.decode(Frame(1, LINKTYPE_ETHERNET, arp, len(arp))) is None
    assert decoder.stats.by_ethertype == {0x0806: 1}


def test_bad_ip_header_length_is_an_anomaly_at_the_ip_offset() -> None:
    bad = bytearray(ethernet(IP4))
    bad[14] = 0x43                              # IHL 3 words: shorter than the header
    anomaly = decode(bytes(bad))
    assert isinstance(anomaly, Anomaly)
    assert (anomaly.layer, anomaly.reason, anomaly.offset) == ("ip", "bad-length", 14)


def test_ip_longer_than_the_frame_is_truncated_unless_snaplen_cut_it() -> None:
    frame = ethernet(IP4)[:14 + 20 + 20 + 2]       # 2 of 5 payload bytes captured
    anomaly = decode(frame)
    assert isinstance(anomaly, Anomaly) and anomaly.reason == "truncated"
    packet = decode(frame, orig_len=len(frame) + 3)
    assert isinstance(packet, Packet) and packet.payload == b"he"


def test_tcp_data_offset_past_the_segment_is_an_anomaly_at_the_tcp_offset() -> None:
    bad = bytearray(ethernet(IP4))
    bad[14 + 20 + 12] = 0xF0                    # data offset 60 bytes
    anomaly = decode(bytes(bad))
    assert isinstance(anomaly, Anomaly)
    assert (anomaly.layer, anomaly.offset) == ("tcp", 34)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=120), st.sampled_from(
    [LINKTYPE_ETHERNET, LINKTYPE_LINUX_SLL, LINKTYPE_LINUX_SLL2, LINKTYPE_NULL, LINKTYPE_RAW]))
def test_random_bytes_never_raise(data: bytes, linktype: int) -> None:
    result = decode(data, linktype)
    assert result is None or isinstance(result, Packet | Anomaly)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 80), st.integers(0, 255)), min_size=1, max_size=6),
       st.integers(0, 80))
def test_mutated_valid_frames_never_raise(flips: list[tuple[int, int]], cut: int) -> None:
    frame = bytearray(ethernet(ipv4(SEGMENT, src="10.0.0.1", dst="10.0.0.2"), vlans=(5,)))
    for index, value in flips:
        frame[index % len(frame)] = value
    result = decode(bytes(frame[:len(frame) - cut]))
    assert result is None or isinstance(result, Packet | Anomaly)
    if isinstance(result, Anomaly):
        assert result.offset is not None and 0 <= result.offset <= len(frame)


def test_udp_length_below_its_header_is_an_anomaly() -> None:
    bad = udp(b"x", sport=1, dport=2)
    bad = bad[:4] + struct.pack("!H", 3) + bad[6:]
    anomaly = decode(ethernet(ipv4(bad, src="10.0.0.1", dst="10.0.0.2", protocol=UDP)))
    assert isinstance(anomaly, Anomaly) and anomaly.layer == "udp"
