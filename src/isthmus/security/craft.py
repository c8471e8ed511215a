"""Builds frames byte by byte (Ethernet, VLAN, Linux cooked, loopback, IPv4, IPv6, TCP,
UDP) and whole TCP conversations with correct sequence numbers.

Used by tests and benchmarks to generate captures; nothing here sends a packet.
TCP and UDP checksums are left at zero (the monitor does not verify them).
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Callable
from dataclasses import dataclass

from isthmus.security.packets import TCP, TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN, UDP

__all__ = ["Endpoint", "TcpConversation", "ethernet", "ip_packet", "ipv4", "ipv6",
           "linux_sll", "linux_sll2", "loopback", "tcp", "udp"]

ETH_IPV4, ETH_IPV6 = 0x0800, 0x86DD


def _checksum(header: bytes) -> int:
    total: int = sum(struct.unpack(f"!{len(header) // 2}H", header))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def _mac(text: str) -> bytes:
    return bytes.fromhex(text.replace(":", ""))


def ethernet(payload: bytes, *, src: str = "02:00:00:00:00:01", dst: str = "02:00:00:00:00:02",
             ethertype: int = ETH_IPV4, vlans: tuple[int, ...] = ()) -> bytes:
    """An Ethernet II frame; `vlans` adds 802.1Q tags outermost first (QinQ: 0x88A8)."""
    tags = b""
    for i, vid in enumerate(vlans):
        tpid = 0x88A8 if i == 0 and len(vlans) > 1 else 0x8100
        tags += struct.pack("!HH", tpid, vid & 0x0FFF)
    frame = _mac(dst) + _mac(src) + tags + struct.pack("!H", ethertype) + payload
    return frame + b"\0" * max(0, 60 - len(frame))        # minimum frame size, padded


def linux_sll(payload: bytes, *, src: str = "02:00:00:00:00:01",
              ethertype: int = ETH_IPV4) -> bytes:
    return struct.pack("!HHH8sH", 0, 1, 6, _mac(src), ethertype) + payload


def linux_sll2(payload: bytes, *, src: str = "02:00:00:00:00:01",
               ethertype: int = ETH_IPV4) -> bytes:
    return struct.pack("!HHIHBB8s", ethertype, 0, 1, 1, 0, 6, _mac(src)) + payload


def loopback(payload: bytes, *, family: int = 2) -> bytes:
    """BSD loopback (link type 0): the address family in host (here: little) byte order."""
    return struct.pack("<I", family) + payload


def ipv4(payload: bytes, *, src: str, dst: str, protocol: int = TCP, ident: int = 1,
         options: bytes = b"", flags_fragment: int = 0x4000, ttl: int = 64) -> bytes:
    options += b"\0" * (-len(options) % 4)
    ihl = 5 + len(options) // 4
    header = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, 0, ihl * 4 + len(payload), ident,
                         flags_fragment, ttl, protocol, 0, socket.inet_aton(src),
                         socket.inet_aton(dst)) + options
    header = header[:10] + struct.pack("!H", _checksum(header)) + header[12:]
    return header + payload


def ipv6(payload: bytes, *, src: str, dst: str, protocol: int = TCP,
         extensions: tuple[tuple[int, bytes], ...] = ()) -> bytes:
    """An IPv6 packet; `extensions` are (type, body) headers such as (0, b"") hop-by-hop,
    each padded to a multiple of 8 bytes."""
    chain = b""
    types = [t for t, _ in extensions] + [protocol]
    for i, (_, body) in enumerate(extensions):
        body += b"\0" * (-(len(body) + 2) % 8)
        chain += bytes([types[i + 1], (len(body) + 2) // 8 - 1]) + body
    first = types[0]
    return struct.pack("!IHBB16s16s", 6 << 28, len(chain) + len(payload), first, 64,
                       socket.inet_pton(socket.AF_INET6, src),
                       socket.inet_pton(socket.AF_INET6, dst)) + chain + payload


def ip_packet(payload: bytes, *, src: str, dst: str, protocol: int = TCP) -> bytes:
    """IPv4 or IPv6 by the form of the addresses."""
    if ":" in src:
        return ipv6(payload, src=src, dst=dst, protocol=protocol)
    return ipv4(payload, src=src, dst=dst, protocol=protocol)


def tcp(payload: bytes, *, sport: int, dport: int, seq: int, ack: int = 0,
        flags: int = TCP_ACK | TCP_PSH, window: int = 65535) -> bytes:
    return struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF,
                       5 << 4, flags, window, 0, 0) + payload


def udp(payload: bytes, *, sport: int, dport: int) -> bytes:
    return struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload


@dataclass(frozen=True)
class Endpoint:
    ip: str
    port: int
    mac: str = "02:00:00:00:00:01"


def _ethernet_link(ip: bytes, src: Endpoint, dst: Endpoint) -> bytes:
    return ethernet(ip, src=src.mac, dst=dst.mac,
                    ethertype=ETH_IPV6 if ":" in src.ip else ETH_IPV4)


Link = Callable[[bytes, Endpoint, Endpoint], bytes]


class TcpConversation:
    """Frames of one TCP connection between `client` and `server`, sequence numbers kept.

    `link` wraps each IP packet in its link layer (Ethernet by default). Each method
    returns the frame; tests reorder, repeat or drop them to build their captures.
    """

    def __init__(self, client: Endpoint, server: Endpoint, *, client_isn: int = 1000,
                 server_isn: int = 50000, link: Link = _ethernet_link) -> None:
        self.client, self.server = client, server
        self.next_seq = {True: client_isn, False: server_isn}    # keyed by from_client
        self._link = link

    def handshake(self) -> list[bytes]:
        syn = self.segment(True, b"", flags=TCP_SYN)
        self.next_seq[True] += 1
        syn_ack = self.segment(False, b"", flags=TCP_SYN | TCP_ACK)
        self.next_seq[False] += 1
        return [syn, syn_ack, self.segment(True, b"", flags=TCP_ACK)]

    def send(self, from_client: bool, data: bytes) -> bytes:
        """A data segment at the current sequence number; the sequence advances."""
        frame = self.segment(from_client, data)
        self.next_seq[from_client] += len(data)
        return frame

    def segment(self, from_client: bool, data: bytes, *, seq: int | None = None,
                flags: int = TCP_ACK | TCP_PSH) -> bytes:
        """A segment at `seq` (default: the current one) without advancing anything."""
        src, dst = (self.client, self.server) if from_client else (self.server, self.client)
        ack = self.next_seq[not from_client] if flags & TCP_ACK else 0
        segment = tcp(data, sport=src.port, dport=dst.port,
                      seq=self.next_seq[from_client] if seq is None else seq, ack=ack,
                      flags=flags)
        return self._link(ip_packet(segment, src=src.ip, dst=dst.ip), src, dst)

    def close(self) -> list[bytes]:
        fin1 = self.segment(True, b"", flags=TCP_FIN | TCP_ACK)
        self.next_seq[True] += 1
        fin2 = self.segment(False, b"", flags=TCP_FIN | TCP_ACK)
        self.next_seq[False] += 1
        return [fin1, fin2, self.segment(True, b"", flags=TCP_ACK)]

    def reset(self, from_client: bool) -> bytes:
        return self.segment(from_client, b"", flags=TCP_RST | TCP_ACK)

    def udp(self, from_client: bool, data: bytes) -> bytes:
        src, dst = (self.client, self.server) if from_client else (self.server, self.client)
        return self._link(ip_packet(udp(data, sport=src.port, dport=dst.port), src=src.ip,
                                    dst=dst.ip, protocol=UDP), src, dst)
