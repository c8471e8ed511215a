"""Classic libpcap files: a streaming reader (both byte orders, µs and ns magic) and a
writer used by tests and benchmarks to generate captures.

The reader walks records with `struct.unpack_from` over a chunk buffer and never holds
more than one chunk (plus one record) in memory. A truncated or corrupt tail ends the read
with an anomaly in `reader.anomalies`, never an exception.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from types import TracebackType
from typing import BinaryIO

from isthmus.model import Severity
from isthmus.security.capture.frames import LINKTYPE_ETHERNET, Frame, Record
from isthmus.security.errors import CaptureFormatError
from isthmus.security.events import Anomaly

__all__ = ["MAGIC_MICRO", "MAGIC_NANO", "PcapReader", "PcapWriter"]

MAGIC_MICRO = 0xA1B2C3D4
MAGIC_NANO = 0xA1B23C4D
_GLOBAL_HEADER_SIZE = 24
_MAX_RECORD = 1 << 18          # 256 KiB: larger than any snaplen a real capture uses
_CHUNK = 1 << 20


def _header_format(head: bytes) -> tuple[str, int] | None:
    """(byte order, ns multiplier) for a global header, or None if it is not pcap."""
    for order in ("<", ">"):
        (magic,) = struct.unpack_from(order + "I", head, 0)
        if magic == MAGIC_MICRO:
            return order, 1_000
        if magic == MAGIC_NANO:
            return order, 1
    return None


def is_pcap(head: bytes) -> bool:
    return len(head) >= 4 and _header_format(head[:4]) is not None


class PcapReader:
    """Frames of a pcap file, in file order. `anomalies` collects what went wrong."""

    def __init__(self, stream: BinaryIO, *, source: str = "") -> None:
        self._stream = stream
        self.source = source
        self.anomalies: list[Anomaly] = []
        head = stream.read(_GLOBAL_HEADER_SIZE)
        fmt = _header_format(head) if len(head) >= 4 else None
        if fmt is None or len(head) < _GLOBAL_HEADER_SIZE:
            raise CaptureFormatError(f"{source or 'stream'}: not a pcap file (header "
                                     f"{head[:4].hex()}, {len(head)} bytes)")
        self._order, self._scale = fmt
        _major, _minor, _zone, _sigfigs, self.snaplen, linktype = struct.unpack_from(
            self._order + "HHiIII", head, 4)
        self.linktype = linktype & 0x0FFFFFFF    # upper bits may carry FCS flags
        self.nanosecond = self._scale == 1

    def __iter__(self) -> Iterator[Frame]:
        linktype = self.linktype
        for ts_ns, data, orig_len, offset in self.records():
            yield Frame(ts_ns, linktype, data, orig_len, offset)

    def records(self) -> Iterator[Record]:
        """(ts_ns, data, orig_len, file offset) of each record, all of `linktype`: the
        monitor's hot loop, without a `Frame` object per record."""
        record = struct.Struct(self._order + "IIII")
        unpack = record.unpack_from
        size = record.size
        scale = self._scale
        buf = b""
        pos = 0
        file_offset = _GLOBAL_HEADER_SIZE        # file offset of buf[0]
        ts_ns = 0
        while True:
            if len(buf) - pos < size:
                buf, pos, file_offset = self._refill(buf, pos, file_offset)
                if len(buf) - pos < size:
                    break
            sec, frac, caplen, orig_len = unpack(buf, pos)
            if caplen > _MAX_RECORD:
                self._anomaly("corrupt-record", f"record claims {caplen} bytes (more than "
                              f"{_MAX_RECORD}): the file is corrupt from here",
                              file_offset + pos, sec * 1_000_000_000 + frac * scale)
                return
            start = pos + size
            end = start + caplen
            if end > len(buf):
                buf, pos, file_offset = self._refill(buf, pos, file_offset, need=size + caplen)
                start = pos + size
                end = start + caplen
                if end > len(buf):
                    break
            ts_ns = sec * 1_000_000_000 + frac * scale
            yield ts_ns, buf[start:end], orig_len, file_offset + pos
            pos = end
        if len(buf) > pos:
            self._anomaly("truncated", f"capture ends inside a record: {len(buf) - pos} "
                          "trailing bytes ignored", file_offset + pos, ts_ns)

    def _refill(self, buf: bytes, pos: int, file_offset: int,
                need: int = 0) -> tuple[bytes, int, int]:
        rest = buf[pos:]
        more = self._stream.read(max(_CHUNK, need))
        return rest + more, 0, file_offset + pos

    def _anomaly(self, reason: str, message: str, offset: int, ts_ns: int) -> None:
        self.anomalies.append(Anomaly(ts_ns, "capture", reason, message, offset,
                                      severity=Severity.MEDIUM, source=self.source))


class PcapWriter:
    """Writes a pcap file (µs or ns timestamps) frame by frame."""

    def __init__(self, stream: BinaryIO, *, linktype: int = LINKTYPE_ETHERNET,
                 nanosecond: bool = False, snaplen: int = 65535,
                 big_endian: bool = False) -> None:
        self._stream = stream
        self._order = ">" if big_endian else "<"
        self._nano = nanosecond
        self._record = struct.Struct(self._order + "IIII")
        magic = MAGIC_NANO if nanosecond else MAGIC_MICRO
        stream.write(struct.pack(self._order + "IHHiIII", magic, 2, 4, 0, 0, snaplen,
                                 linktype))
        self.frames = 0

    def write(self, ts_ns: int, data: bytes, *, orig_len: int | None = None) -> None:
        sec, ns = divmod(ts_ns, 1_000_000_000)
        frac = ns if self._nano else ns // 1_000
        self._stream.write(self._record.pack(sec, frac, len(data),
                                             len(data) if orig_len is None else orig_len))
        self._stream.write(data)
        self.frames += 1

    def close(self) -> None:
        self._stream.flush()

    def __enter__(self) -> PcapWriter:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
