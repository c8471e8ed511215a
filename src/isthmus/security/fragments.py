"""IP fragment reassembly for the passive monitor: IPv4 fragments keyed by (source,
destination, identification, protocol), IPv6 Fragment-header fragments keyed by (source,
destination, identification).

Bounded: at most `max_datagrams` datagrams in progress (the oldest is evicted), at most
`max_bytes` bytes per datagram, and a datagram not completed within `timeout_ns` of
capture time after its first fragment expires. Overlaps are resolved first-wins: bytes
already held are kept and a later fragment only fills holes; an overlap carrying
different bytes (the Teardrop pattern) is reported once per fragment as an `ip` /
`fragment-overlap` anomaly. Every evicted or expired datagram is reported once as an
`ip` / `fragment-incomplete` anomaly.
"""

from __future__ import annotations

import socket
from collections import OrderedDict
from dataclasses import dataclass, field

from isthmus.security.events import Anomaly

__all__ = ["FragmentKey", "FragmentReassembler", "Reassembled"]

#: (IP version, source, destination, identification, protocol; -1 for IPv6)
FragmentKey = tuple[int, bytes, bytes, int, int]

MAX_DATAGRAMS = 4096
MAX_BYTES = 65535
TIMEOUT_NS = 30_000_000_000


@dataclass(frozen=True, slots=True)
class Reassembled:
    """A completed datagram: the bytes after the IP header (IPv6: after the Fragment
    header) and the protocol (IPv6: next header) that starts them."""

    payload: bytes
    protocol: int


@dataclass(slots=True)
class _Datagram:
    first_ts: int
    pieces: list[tuple[int, bytes]] = field(default_factory=list)   # sorted, disjoint
    size: int = 0
    total: int | None = None          # known once the last fragment (MF clear) arrives
    protocol: int = -1                # from the fragment at offset 0


class FragmentReassembler:
    """Collects fragments; `add` returns the datagram a fragment completes. Anomalies
    (overlaps, incomplete datagrams) gather in `anomalies` for the caller to take."""

    def __init__(self, *, max_datagrams: int = MAX_DATAGRAMS, max_bytes: int = MAX_BYTES,
                 timeout_ns: int = TIMEOUT_NS) -> None:
        self.max_datagrams, self.max_bytes, self.timeout_ns = max_datagrams, max_bytes, timeout_ns
        self.anomalies: list[Anomaly] = []
        self.incomplete = 0
        self.reassembled = 0
        self._open: OrderedDict[FragmentKey, _Datagram] = OrderedDict()

    def __len__(self) -> int:
        return len(self._open)

    def add(self, key: FragmentKey, ts_ns: int, offset: int, more: bool, data: bytes,
            protocol: int) -> Reassembled | None:
        """One fragment: its byte `offset` in the datagram, whether more follow (MF) and
        its bytes; `protocol` is the upper-layer protocol (IPv6: the Fragment header's
        next header, meaningful at offset 0)."""
        self.expire(ts_ns)
        datagram = self._open.get(key)
        if datagram is None:
            if len(self._open) >= self.max_datagrams:
                old_key, old = self._open.popitem(last=False)
                self._incomplete(old_key, old, ts_ns, "evicted: too many in progress")
            datagram = self._open[key] = _Datagram(ts_ns)
        end = offset + len(data)
        problem = self._bounds(datagram, end, more)
        if problem:
            del self._open[key]
            self._incomplete(key, datagram, ts_ns, problem)
            return None
        if not more:
            datagram.total = end
        if offset == 0:
            datagram.protocol = protocol
        conflict = _insert(datagram, offset, data)
        if conflict is not None:
            self.anomalies.append(Anomaly(
                ts_ns, "ip", "fragment-overlap",
                f"{_describe(key)}: fragment at offset {offset} overlaps bytes already "
                f"received with different content from offset {conflict}; first kept",
                conflict))
        if datagram.total is None or datagram.size < datagram.total:
            return None
        del self._open[key]
        self.reassembled += 1
        return Reassembled(b"".join(piece for _, piece in datagram.pieces), datagram.protocol)

    def expire(self, ts_ns: int) -> None:
        """Drops datagrams whose first fragment is older than the timeout."""
        while self._open:
            key, datagram = next(iter(self._open.items()))
            if ts_ns - datagram.first_ts <= self.timeout_ns:
                return
            del self._open[key]
            self._incomplete(key, datagram, ts_ns, f"expired after "
                             f"{self.timeout_ns / 1e9:g} s")

    def flush(self, ts_ns: int) -> None:
        """End of capture: every datagram still in progress is incomplete."""
        while self._open:
            key, datagram = self._open.popitem(last=False)
            self._incomplete(key, datagram, ts_ns, "capture ended")

    def _bounds(self, datagram: _Datagram, end: int, more: bool) -> str:
        if end > self.max_bytes:
            return f"fragment ends at byte {end}, beyond the {self.max_bytes}-byte limit"
        if datagram.total is not None and (end > datagram.total
                                           or (not more and end != datagram.total)):
            return f"fragment ends at byte {end}, datagram length is {datagram.total}"
        if not more and datagram.pieces and datagram.pieces[-1][0] + len(
                datagram.pieces[-1][1]) > end:
            return f"last fragment ends at byte {end}, before bytes already received"
        return ""

    def _incomplete(self, key: FragmentKey, datagram: _Datagram, ts_ns: int,
                    why: str) -> None:
        self.incomplete += 1
        total = "?" if datagram.total is None else str(datagram.total)
        self.anomalies.append(Anomaly(
            ts_ns, "ip", "fragment-incomplete",
            f"{_describe(key)}: {datagram.size} of {total} bytes reassembled, dropped ({why})"))


def _insert(datagram: _Datagram, start: int, data: bytes) -> int | None:
    """Adds the parts of `data` not yet held; returns the first datagram offset where it
    overlaps held bytes with different content, or None."""
    end, pos = start + len(data), start
    added: list[tuple[int, bytes]] = []
    conflict: int | None = None
    for held_start, held in datagram.pieces:
        held_end = held_start + len(held)
        if held_end <= pos:
            continue
        if held_start >= end:
            break
        if held_start > pos:
            added.append((pos, data[pos - start:held_start - start]))
        low, high = max(held_start, pos), min(held_end, end)
        if conflict is None and held[low - held_start:high - held_start] != data[
                low - start:high - start]:
            conflict = low
        pos = high
    if pos < end:
        added.append((pos, data[pos - start:]))
    if added:
        datagram.pieces.extend(added)
        datagram.pieces.sort(key=lambda piece: piece[0])
        datagram.size += sum(len(piece) for _, piece in added)
    return conflict


def _describe(key: FragmentKey) -> str:
    version, src, dst, ident, protocol = key
    family = socket.AF_INET if version == 4 else socket.AF_INET6
    names = f"{socket.inet_ntop(family, src)} -> {socket.inet_ntop(family, dst)}"
    what = f"protocol {protocol}, " if version == 4 else ""
    return f"IPv{version} datagram {names} ({what}id {ident:#x})"
