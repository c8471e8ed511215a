"""pcapng files: a streaming reader (SHB, IDB, EPB, SPB and the obsolete PB; per-interface
link type and timestamp resolution; unknown blocks skipped) and a small writer for tests.

A truncated or corrupt block ends the read with an anomaly in `reader.anomalies`.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from isthmus.model import Severity
from isthmus.security.capture.frames import LINKTYPE_ETHERNET, Frame
from isthmus.security.errors import CaptureFormatError
from isthmus.security.events import Anomaly

__all__ = ["PcapngReader", "PcapngWriter", "is_pcapng"]

SHB = 0x0A0D0D0A
IDB = 0x00000001
PB = 0x00000002        # obsolete packet block
SPB = 0x00000003
EPB = 0x00000006
_BYTE_ORDER_MAGIC = 0x1A2B3C4D
_OPT_TSRESOL = 9
_OPT_TSOFFSET = 14
_MAX_BLOCK = 1 << 24


def is_pcapng(head: bytes) -> bool:
    return len(head) >= 4 and struct.unpack_from("<I", head)[0] == SHB


@dataclass(slots=True)
class _Interface:
    linktype: int
    snaplen: int
    units_per_s: int = 1_000_000     # default resolution: microseconds
    offset_s: int = 0

    def ts_ns(self, high: int, low: int) -> int:
        ticks = (high << 32) | low
        if self.units_per_s == 1_000_000_000:
            return ticks + self.offset_s * 1_000_000_000
        return ticks * 1_000_000_000 // self.units_per_s + self.offset_s * 1_000_000_000


class PcapngReader:
    """Frames of a pcapng file, in file order. `anomalies` collects what went wrong."""

    def __init__(self, stream: BinaryIO, *, source: str = "") -> None:
        self._stream = stream
        self.source = source
        self.anomalies: list[Anomaly] = []
        self._order = "<"
        self._interfaces: list[_Interface] = []
        self._offset = 0
        self._last_ts = 0
        self.skipped_blocks = 0
        head = stream.read(12)
        if not is_pcapng(head) or len(head) < 12:
            raise CaptureFormatError(f"{source or 'stream'}: not a pcapng file "
                             f"(header {head[:4].hex()})")
        self._head: bytes | None = head

    def __iter__(self) -> Iterator[Frame]:
        while True:
            block = self._next_block()
            if block is None:
                return
            btype, body, offset = block
            frame = self._handle(btype, body, offset)
            if frame is not None:
                yield frame

    def _next_block(self) -> tuple[int, bytes, int] | None:
        """(type, body, file offset) of the next block, or None at the end."""
        offset = self._offset
        if self._head is not None:
            head, self._head = self._head, None
        else:
            head = self._stream.read(12)
            if not head:
                return None
        if len(head) < 8:
            self._truncated(offset, f"{len(head)} bytes of a block header")
            return None
        btype = struct.unpack_from("<I", head)[0]
        if btype == SHB:
            if len(head) < 12:
                self._truncated(offset, "a section header without its byte-order magic")
                return None
            magic_le = struct.unpack_from("<I", head, 8)[0]
            self._order = "<" if magic_le == _BYTE_ORDER_MAGIC else ">"
        else:
            btype = struct.unpack_from(self._order + "I", head)[0]
        (length,) = struct.unpack_from(self._order + "I", head, 4)
        if length < 12 or length % 4 or length > _MAX_BLOCK:
            self._anomaly("corrupt-block", f"block type {btype:#x} claims length {length}: "
                          "the file is corrupt from here", offset)
            return None
        rest = self._stream.read(length - len(head))
        if len(rest) < length - len(head):
            self._truncated(offset, f"block type {btype:#x} of {length} bytes, "
                                   f"{len(head) + len(rest)} present")
            return None
        self._offset = offset + length
        data = head + rest
        return btype, data[8:length - 4], offset

    def _handle(self, btype: int, body: bytes, offset: int) -> Frame | None:
        order = self._order
        if btype == EPB and len(body) >= 20:
            iface, high, low, caplen, orig_len = struct.unpack_from(order + "IIIII", body)
            return self._frame(iface, high, low, body[20:20 + caplen], orig_len, offset)
        if btype == SPB and len(body) >= 4:
            (orig_len,) = struct.unpack_from(order + "I", body)
            iface = self._interface(0, offset)
            if iface is None:
                return None
            caplen = min(orig_len, len(body) - 4, iface.snaplen or orig_len)
            return Frame(self._last_ts, iface.linktype, body[4:4 + caplen], orig_len, offset)
        if btype == PB and len(body) >= 20:
            iface, _drops, high, low, caplen, orig_len = struct.unpack_from(
                order + "HHIIII", body)
            return self._frame(iface, high, low, body[20:20 + caplen], orig_len, offset)
        if btype == SHB:
            self._interfaces = []
        elif btype == IDB and len(body) >= 8:
            self._interfaces.append(self._parse_idb(body))
        else:
            self.skipped_blocks += 1
        return None

    def _frame(self, iface_id: int, high: int, low: int, data: bytes, orig_len: int,
               offset: int) -> Frame | None:
        iface = self._interface(iface_id, offset)
        if iface is None:
            return None
        self._last_ts = iface.ts_ns(high, low)
        return Frame(self._last_ts, iface.linktype, data, orig_len, offset)

    def _interface(self, iface_id: int, offset: int) -> _Interface | None:
        if iface_id < len(self._interfaces):
            return self._interfaces[iface_id]
        self._anomaly("unknown-interface", f"packet for interface {iface_id}, but only "
                      f"{len(self._interfaces)} described", offset, severity=Severity.LOW)
        return None

    def _parse_idb(self, body: bytes) -> _Interface:
        linktype, _reserved, snaplen = struct.unpack_from(self._order + "HHI", body)
        iface = _Interface(linktype, snaplen)
        pos = 8
        while pos + 4 <= len(body):
            code, size = struct.unpack_from(self._order + "HH", body, pos)
            value = body[pos + 4:pos + 4 + size]
            if code == 0:
                break
            if code == _OPT_TSRESOL and size >= 1:
                exp = value[0] & 0x7F
                iface.units_per_s = 2 ** exp if value[0] & 0x80 else 10 ** exp
            elif code == _OPT_TSOFFSET and size >= 8:
                (iface.offset_s,) = struct.unpack_from(self._order + "q", value)
            pos += 4 + (size + 3) // 4 * 4
        return iface

    def _truncated(self, offset: int, what: str) -> None:
        self._anomaly("truncated", f"capture ends inside a block: {what}", offset)

    def _anomaly(self, reason: str, message: str, offset: int,
                 severity: Severity = Severity.MEDIUM) -> None:
        self.anomalies.append(Anomaly(self._last_ts, "capture", reason, message, offset,
                                      severity=severity, source=self.source))


class PcapngWriter:
    """A minimal pcapng writer (one section, little-endian) for tests and benchmarks."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self._resolution: list[int] = []     # ns per timestamp tick, per interface
        self._write_block(SHB, struct.pack("<IHHq", _BYTE_ORDER_MAGIC, 1, 0, -1))

    def add_interface(self, linktype: int = LINKTYPE_ETHERNET, *,
                      nanosecond: bool = False, snaplen: int = 65535) -> int:
        """Describe an interface; returns its id for `write`."""
        options = b""
        if nanosecond:
            options = struct.pack("<HHB3x", _OPT_TSRESOL, 1, 9) + struct.pack("<HH", 0, 0)
        self._write_block(IDB, struct.pack("<HHI", linktype, 0, snaplen) + options)
        self._resolution.append(1 if nanosecond else 1_000)
        return len(self._resolution) - 1

    def write(self, interface: int, ts_ns: int, data: bytes) -> None:
        ticks = ts_ns // self._resolution[interface]
        body = struct.pack("<IIIII", interface, ticks >> 32, ticks & 0xFFFFFFFF, len(data),
                           len(data)) + data + b"\0" * (-len(data) % 4)
        self._write_block(EPB, body)

    def write_simple(self, data: bytes) -> None:
        """A simple packet block (no interface id, no timestamp): interface 0."""
        self._write_block(SPB, struct.pack("<I", len(data)) + data + b"\0" * (-len(data) % 4))

    def write_unknown(self, block_type: int, body: bytes) -> None:
        self._write_block(block_type, body + b"\0" * (-len(body) % 4))

    def _write_block(self, btype: int, body: bytes) -> None:
        length = len(body) + 12
        self._stream.write(struct.pack("<II", btype, length) + body
                           + struct.pack("<I", length))
