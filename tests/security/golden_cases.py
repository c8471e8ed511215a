"""Captures for the golden tests, built frame by frame. Each case names what it pins."""

from __future__ import annotations

import struct
from collections.abc import Callable

from isthmus.security.capture import LINKTYPE_ETHERNET, LINKTYPE_LINUX_SLL
from isthmus.security.craft import Endpoint, TcpConversation, ethernet, ip_packet, linux_sll
from tests.security.golden_boundary import BOUNDARY_CASES
from tests.security.golden_ics import ICS_CASES
from tests.security.traffic import EWS, HMI, PLC, adu, read_request, registers_response

Case = tuple[int, list[bytes]]          # link type, frames


def all_functions() -> Case:
    """An HMI polls every read function; an engineering workstation writes, runs
    diagnostics, identifies the PLC, gets an exception and stops it over UMAS."""
    hmi = TcpConversation(HMI, PLC)
    frames = hmi.handshake()
    for tid, (fc, reply) in enumerate([(1, b"\x01\x01\x05"), (2, b"\x02\x01\x02"),
                                       (3, None), (4, None)], start=1):
        frames.append(hmi.send(True, read_request(tid, fc=fc, address=100, count=2)))
        frames.append(hmi.send(False, adu(tid, 1, reply) if reply else
                               registers_response(tid, [tid, 1000 + tid], fc=fc)))
    frames += hmi.close()
    ews = TcpConversation(EWS, PLC, client_isn=7_000, server_isn=9_000)
    frames += ews.handshake()
    objects = b"".join(bytes([i, len(v)]) + v for i, v in
                       enumerate([b"Acme Automation", b"AC-800", b"2.4.1"]))
    for tid, (request, response) in enumerate([
            (b"\x05\x00\x07\xff\x00", b"\x05\x00\x07\xff\x00"),
            (b"\x06\x00\x08\x01\xf4", b"\x06\x00\x08\x01\xf4"),
            (b"\x0f\x00\x00\x00\x03\x01\x05", b"\x0f\x00\x00\x00\x03"),
            (b"\x10\x00\x0a\x00\x02\x04\x00\x01\x00\x02", b"\x10\x00\x0a\x00\x02"),
            (b"\x08\x00\x00\xab\xcd", b"\x08\x00\x00\xab\xcd"),
            (b"\x2b\x0e\x01\x00", b"\x2b\x0e\x01\x01\x00\x00\x03" + objects),
            (b"\x03\x27\x0f\x00\x01", b"\x83\x02"),
            (b"\x5a\x00\x41\x01", b"\x5a\x00\xfe")], start=10):
        frames.append(ews.send(True, adu(tid, 1, request)))
        frames.append(ews.send(False, adu(tid, 1, response)))
    frames.append(ews.reset(True))
    return LINKTYPE_ETHERNET, frames


def _vlan_link(ip: bytes, src: Endpoint, dst: Endpoint) -> bytes:
    return ethernet(ip, src=src.mac, dst=dst.mac, vlans=(100, 20))


def reassembly_edges() -> Case:
    """On a QinQ-tagged link: a retransmission, a reordered pair, an ADU in three segments,
    three ADUs in one segment and a lost segment (a gap), after which parsing resumes."""
    conv = TcpConversation(HMI, PLC, link=_vlan_link)
    frames = conv.handshake()
    request = conv.send(True, read_request(1, count=20))
    frames += [request, request]
    response = registers_response(1, range(20))
    frames += [conv.send(False, response[:5]), conv.send(False, response[5:30]),
               conv.send(False, response[30:])]
    second, third = conv.send(True, read_request(2)), conv.send(True, read_request(3))
    frames += [third, second]
    frames.append(conv.send(False, registers_response(2, [2, 2]) + registers_response(3, [3, 3])
                            + registers_response(99, [9, 9])))
    conv.send(True, read_request(4))                      # lost
    frames.append(conv.send(True, read_request(5)))
    frames.append(conv.send(False, registers_response(5, [5, 5])))
    frames += conv.close()
    return LINKTYPE_ETHERNET, frames


def _sll_link(ip: bytes, src: Endpoint, dst: Endpoint) -> bytes:
    return linux_sll(ip, src=src.mac, ethertype=0x86DD if ":" in src.ip else 0x0800)


def ipv6_midstream_other_port() -> Case:
    """IPv6 on a Linux cooked capture, picked up in the middle of an ADU, Modbus on port
    5020 recognised by content; a UDP datagram beside it."""
    client, server = Endpoint("fd00::20", 51000), Endpoint("fd00::10", 5020)
    conv = TcpConversation(client, server, link=_sll_link)
    partial = read_request(40, fc=4, count=3)
    conv.next_seq[True] += 5
    frames = [conv.send(True, partial[5:])]
    frames.append(conv.send(False, registers_response(40, [1, 2, 3], fc=4)))
    frames.append(conv.send(True, read_request(41, fc=4, count=1)))
    frames.append(conv.send(False, registers_response(41, [7], fc=4)))
    frames.append(linux_sll(ip_packet(struct.pack("!HHHH", 5353, 5353, 12, 0) + b"mdns",
                                      src="fd00::20", dst="ff02::fb", protocol=17),
                            ethertype=0x86DD))
    return LINKTYPE_LINUX_SLL, frames


CASES: dict[str, Callable[[], Case]] = {
    "all-functions": all_functions,
    "reassembly-edges": reassembly_edges,
    "ipv6-midstream-other-port": ipv6_midstream_other_port,
    **ICS_CASES,
    **BOUNDARY_CASES,
}
