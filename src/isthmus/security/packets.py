"""Frames to packets: link layer (Ethernet, Linux cooked v1/v2, BSD loopback, raw IP),
802.1Q/QinQ VLAN tags, IPv4 (options) and IPv6 (extension headers skipped), TCP and UDP.

`PacketDecoder.decode` returns a `Packet`, an `Anomaly` (malformed, with the byte offset in
the frame) or None (not IP, or an IP fragment that completes no datagram yet). Fragments
are reassembled by `fragments.FragmentReassembler`; its anomalies (overlaps, incomplete
datagrams) come out of `decode` in place of the next None, and `flush_fragments` at the end.
Headers are parsed with one precompiled `struct` call each; addresses become text through
small caches because a capture repeats the same few hosts over and over.
"""

from __future__ import annotations

import socket
import struct
from collections import deque
from dataclasses import dataclass, field

from isthmus.security.capture.frames import (
    LINKTYPE_ETHERNET,
    LINKTYPE_LINUX_SLL,
    LINKTYPE_LINUX_SLL2,
    LINKTYPE_NULL,
    LINKTYPE_RAW,
    Frame,
)
from isthmus.security.events import Anomaly
from isthmus.security.fragments import FragmentKey, FragmentReassembler

__all__ = [
    "FAST_HEADERS",
    "TCP",
    "TCP_ACK",
    "TCP_FIN",
    "TCP_RST",
    "TCP_SYN",
    "UDP",
    "DecodeStats",
    "Packet",
    "PacketDecoder",
]

TCP = 6
UDP = 17
TCP_FIN, TCP_SYN, TCP_RST, TCP_PSH, TCP_ACK = 0x01, 0x02, 0x04, 0x08, 0x10

_LINKTYPE_IPV4 = 228
_LINKTYPE_IPV6 = 229
_ETH_IPV4, _ETH_IPV6 = 0x0800, 0x86DD
_VLAN_TYPES = frozenset({0x8100, 0x88A8, 0x9100})
_NULL_IPV6 = frozenset({10, 24, 28, 30})
_IPV6_EXTENSIONS = frozenset({0, 43, 60, 51, 135, 139, 140, 253, 254})
_IPV6_FRAGMENT = 44

_ETH = struct.Struct("!6s6sH")
_VLAN = struct.Struct("!HH")
_SLL = struct.Struct("!HHH8sH")
_SLL2 = struct.Struct("!HHIHBB8s")
_IPV4 = struct.Struct("!BBHHHBBH4s4s")
_IPV6 = struct.Struct("!IHBB16s16s")
_TCP = struct.Struct("!HHIIBBHHH")
_UDP = struct.Struct("!HHHH")
_CACHE_LIMIT = 65536

#: Ethernet + IPv4 + TCP headers in one call, for the monitor's fast path: ethertype,
#: version/IHL, total length, flags/fragment offset, protocol, (addresses and ports
#: skipped: they are bytes 26–38, the flow's raw key), sequence, ack, data offset, flags.
FAST_HEADERS = struct.Struct("!12xHBxH2xHxB14xIIBB")


@dataclass(slots=True)
class Packet:
    """A TCP or UDP packet, its addresses as text and its payload."""

    ts_ns: int
    src: str
    dst: str
    protocol: int              # TCP or UDP
    sport: int
    dport: int
    payload: bytes
    seq: int = 0
    ack: int = 0
    flags: int = 0
    src_mac: str | None = None
    vlans: tuple[int, ...] = ()
    ip_version: int = 4


@dataclass
class DecodeStats:
    frames: int = 0
    tcp: int = 0
    udp: int = 0
    other_ip: int = 0          # ICMP, OSPF, …
    non_ip: int = 0            # ARP, LLDP, PROFINET DCP, …
    fragments: int = 0         # IPv4/IPv6 fragments seen
    fragments_reassembled: int = 0   # datagrams completed from fragments
    fragments_incomplete: int = 0    # datagrams evicted, expired or left at the end
    malformed: int = 0
    unknown_linktype: int = 0
    by_ethertype: dict[int, int] = field(default_factory=dict)


class _Malformed(Exception):
    """Internal: raised inside the decoder, turned into an Anomaly at its boundary."""

    def __init__(self, layer: str, reason: str, message: str, offset: int) -> None:
        super().__init__(message)
        self.layer, self.reason, self.offset = layer, reason, offset


class PacketDecoder:
    """Decodes frames; keeps counters of what it saw in `stats`."""

    def __init__(self) -> None:
        self.stats = DecodeStats()
        self._names: dict[bytes, str] = {}
        self.fragments = FragmentReassembler()
        self._pending: deque[Anomaly] = deque()

    def decode(self, frame: Frame) -> Packet | Anomaly | None:
        self.stats.frames += 1
        try:
            packet = self._link(frame)
        except _Malformed as bad:
            self.stats.malformed += 1
            return Anomaly(frame.ts_ns, bad.layer, bad.reason, str(bad), bad.offset)
        except struct.error as exc:      # a header cut short that no check above caught
            self.stats.malformed += 1
            return Anomaly(frame.ts_ns, "link", "short-header", f"frame cut short: {exc}",
                           len(frame.data))
        if packet is None and self._pending:
            return self._pending.popleft()
        return packet

    def flush_fragments(self, ts_ns: int) -> list[Anomaly]:
        """End of capture: anomalies not yet returned, and one per datagram still being
        reassembled (counted as incomplete)."""
        self.fragments.flush(ts_ns)
        self._take_fragment_anomalies()
        out = list(self._pending)
        self._pending.clear()
        return out

    # ---- link layer --------------------------------------------------------------------

    def _link(self, frame: Frame) -> Packet | None:
        data, linktype = frame.data, frame.linktype
        mac: str | None = None
        if linktype == LINKTYPE_ETHERNET:
            _need(data, 0, 14, "link", "ethernet header")
            _dst, src, ethertype = _ETH.unpack_from(data)
            mac = self._mac(src)
            offset = 14
        elif linktype == LINKTYPE_LINUX_SLL:
            _need(data, 0, 16, "link", "Linux cooked (SLL) header")
            _ptype, hatype, alen, addr, ethertype = _SLL.unpack_from(data)
            mac = self._mac(addr[:6]) if hatype == 1 and alen == 6 else None
            offset = 16
        elif linktype == LINKTYPE_LINUX_SLL2:
            _need(data, 0, 20, "link", "Linux cooked v2 (SLL2) header")
            ethertype, _res, _ifindex, hatype, _ptype, alen, addr = _SLL2.unpack_from(data)
            mac = self._mac(addr[:6]) if hatype == 1 and alen == 6 else None
            offset = 20
        elif linktype == LINKTYPE_NULL:
            _need(data, 0, 4, "link", "loopback header")
            family = int.from_bytes(data[:4], "little")
            if family > 0xFFFF:
                family = int.from_bytes(data[:4], "big")
            ethertype = _ETH_IPV4 if family == 2 else _ETH_IPV6 if family in _NULL_IPV6 else 0
            offset = 4
        elif linktype in (LINKTYPE_RAW, _LINKTYPE_IPV4, _LINKTYPE_IPV6):
            _need(data, 0, 1, "link", "raw IP version")
            ethertype = _ETH_IPV4 if data[0] >> 4 == 4 else _ETH_IPV6
            offset = 0
        else:
            self.stats.unknown_linktype += 1
            return None
        return self._network(frame, data, offset, ethertype, mac)

    def _network(self, frame: Frame, data: bytes, offset: int, ethertype: int,
                 mac: str | None) -> Packet | None:
        vlans: tuple[int, ...] = ()
        while ethertype in _VLAN_TYPES:
            _need(data, offset, 4, "link", "802.1Q tag")
            tci, ethertype = _VLAN.unpack_from(data, offset)
            vlans = (*vlans, tci & 0x0FFF)
            offset += 4
        if ethertype == _ETH_IPV4:
            packet = self._ipv4(frame, data, offset)
        elif ethertype == _ETH_IPV6:
            packet = self._ipv6(frame, data, offset)
        else:
            self.stats.non_ip += 1
            self.stats.by_ethertype[ethertype] = self.stats.by_ethertype.get(ethertype, 0) + 1
            return None
        if packet is not None:
            packet.src_mac = mac
            packet.vlans = vlans
        return packet

    # ---- IP ----------------------------------------------------------------------------

    def _ipv4(self, frame: Frame, data: bytes, offset: int) -> Packet | None:
        _need(data, offset, 20, "ip", "IPv4 header")
        vihl, _tos, total, _ident, frag, _ttl, proto, _csum, src, dst = _IPV4.unpack_from(
            data, offset)
        if vihl >> 4 != 4:
            raise _Malformed("ip", "bad-version", f"IPv4 header says version {vihl >> 4}",
                             offset)
        ihl = (vihl & 0x0F) * 4
        if ihl < 20 or total < ihl:
            raise _Malformed("ip", "bad-length", f"IPv4 header length {ihl}, total {total}",
                             offset)
        end = offset + total
        if end > len(data) and frame.orig_len <= len(data):
            raise _Malformed("ip", "truncated", f"IPv4 total length {total} but only "
                             f"{len(data) - offset} bytes in the frame", offset)
        if frag & 0x3FFF:                   # more fragments, or a non-zero fragment offset
            if end > len(data):             # snapped: its bytes cannot be reassembled
                self.stats.fragments += 1
                return None
            return self._fragment(frame, (4, src, dst, _ident, proto), (frag & 0x1FFF) * 8,
                                  bool(frag & 0x2000), data[offset + ihl:end], proto)
        return self._transport(frame, data, offset + ihl, min(end, len(data)), proto,
                               self._name(src), self._name(dst), 4)

    def _ipv6(self, frame: Frame, data: bytes, offset: int) -> Packet | None:
        _need(data, offset, 40, "ip", "IPv6 header")
        vtf, plen, nxt, _hop, src, dst = _IPV6.unpack_from(data, offset)
        if vtf >> 28 != 6:
            raise _Malformed("ip", "bad-version", f"IPv6 header says version {vtf >> 28}",
                             offset)
        end = offset + 40 + plen
        if end > len(data) and frame.orig_len <= len(data):
            raise _Malformed("ip", "truncated", f"IPv6 payload length {plen} but only "
                             f"{len(data) - offset - 40} bytes in the frame", offset)
        end = min(end, len(data))
        pos = offset + 40
        while nxt in _IPV6_EXTENSIONS or nxt == _IPV6_FRAGMENT:
            _need(data, pos, 8, "ip", f"IPv6 extension header {nxt}")
            if nxt == _IPV6_FRAGMENT:
                field_ = int.from_bytes(data[pos + 2:pos + 4], "big")
                if field_ & 0xFFF9:
                    if offset + 40 + plen > len(data):     # snapped
                        self.stats.fragments += 1
                        return None
                    key = (6, src, dst, int.from_bytes(data[pos + 4:pos + 8], "big"), -1)
                    return self._fragment(frame, key, field_ & 0xFFF8, bool(field_ & 1),
                                          data[pos + 8:end], data[pos])
                size = 8
            elif nxt == 51:                 # AH counts 4-byte words
                size = (data[pos + 1] + 2) * 4
            else:
                size = (data[pos + 1] + 1) * 8
            nxt = data[pos]
            pos += size
        return self._transport(frame, data, pos, end, nxt, self._name(src), self._name(dst), 6)

    # ---- fragments ---------------------------------------------------------------------

    def _fragment(self, frame: Frame, key: FragmentKey, offset: int, more: bool,
                  data: bytes, proto: int) -> Packet | None:
        """One fragment into the reassembler; the datagram it completes is decoded as
        a packet stamped with this (the last) fragment's time."""
        self.stats.fragments += 1
        done = self.fragments.add(key, frame.ts_ns, offset, more, data, proto)
        self._take_fragment_anomalies()
        if done is None:
            return None
        self.stats.fragments_reassembled += 1
        whole = Frame(frame.ts_ns, frame.linktype, done.payload, len(done.payload),
                      frame.file_offset)
        src, dst = self._name(key[1]), self._name(key[2])
        if key[0] == 4:
            return self._transport(whole, done.payload, 0, len(done.payload), done.protocol,
                                   src, dst, 4)
        return self._ipv6_rest(whole, done.payload, done.protocol, src, dst)

    def _ipv6_rest(self, frame: Frame, data: bytes, nxt: int, src: str,
                   dst: str) -> Packet | None:
        """A reassembled IPv6 fragmentable part: extension headers, then transport."""
        pos = 0
        while nxt in _IPV6_EXTENSIONS:
            _need(data, pos, 8, "ip", f"IPv6 extension header {nxt}")
            size = (data[pos + 1] + 2) * 4 if nxt == 51 else (data[pos + 1] + 1) * 8
            nxt = data[pos]
            pos += size
        return self._transport(frame, data, pos, len(data), nxt, src, dst, 6)

    def _take_fragment_anomalies(self) -> None:
        found = self.fragments.anomalies
        if found:
            self.stats.fragments_incomplete += sum(
                a.reason == "fragment-incomplete" for a in found)
            self._pending.extend(found)
            found.clear()

    # ---- transport ---------------------------------------------------------------------

    def _transport(self, frame: Frame, data: bytes, offset: int, end: int, proto: int,
                   src: str, dst: str, version: int) -> Packet | None:
        if proto == TCP:
            _need(data, offset, 20, "tcp", "TCP header")
            sport, dport, seq, ack, doff, flags, _win, _csum, _urg = _TCP.unpack_from(
                data, offset)
            hlen = (doff >> 4) * 4
            if hlen < 20 or offset + hlen > end:
                raise _Malformed("tcp", "bad-header-length",
                                 f"TCP data offset {hlen} with {end - offset} bytes of segment",
                                 offset)
            self.stats.tcp += 1
            return Packet(frame.ts_ns, src, dst, TCP, sport, dport, data[offset + hlen:end],
                          seq, ack, flags, ip_version=version)
        if proto == UDP:
            _need(data, offset, 8, "udp", "UDP header")
            sport, dport, length, _csum = _UDP.unpack_from(data, offset)
            if length < 8 or (offset + length > end and frame.orig_len <= len(data)):
                raise _Malformed("udp", "bad-length",
                                 f"UDP length {length} with {end - offset} bytes of datagram",
                                 offset)
            self.stats.udp += 1
            return Packet(frame.ts_ns, src, dst, UDP, sport, dport,
                          data[offset + 8:min(offset + length, end)], ip_version=version)
        self.stats.other_ip += 1
        return None

    # ---- names -------------------------------------------------------------------------

    def _name(self, raw: bytes) -> str:
        name = self._names.get(raw)
        if name is None:
            if len(self._names) >= _CACHE_LIMIT:
                self._names.clear()
            family = socket.AF_INET if len(raw) == 4 else socket.AF_INET6
            name = self._names[raw] = socket.inet_ntop(family, raw)
        return name

    def _mac(self, raw: bytes) -> str:
        key = b"m" + raw
        name = self._names.get(key)
        if name is None:
            name = self._names[key] = raw.hex(":")
        return name


def _need(data: bytes, offset: int, size: int, layer: str, what: str) -> None:
    if offset + size > len(data):
        raise _Malformed(layer, "truncated", f"{what} needs {size} bytes at offset {offset}, "
                         f"frame has {len(data)}", offset)
