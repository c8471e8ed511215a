"""Live capture from a network interface through an AF_PACKET socket (Linux), with a BPF
filter compiled by libpcap (`pcap_compile`, loaded with ctypes) and attached to the socket
in the kernel, so that filtered-out frames never reach Python. Kernel drops are counted.

    with LiveCapture("lo", bpf="host 127.0.66.6") as capture:
        for frame in capture.frames(stop):
            ...
        print(capture.stats())
"""

from __future__ import annotations

import ctypes
import ctypes.util
import socket
import struct
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from isthmus.security.capture.frames import LINKTYPE_ETHERNET, LINKTYPE_RAW, Frame
from isthmus.security.errors import SecurityMonitorError

__all__ = ["CaptureStats", "LiveCapture", "LiveCaptureError", "compile_filter"]

ETH_P_ALL = 0x0003
SOL_PACKET = 263
PACKET_STATISTICS = 6
PACKET_OUTGOING = 4
SO_ATTACH_FILTER = 26
SO_TIMESTAMPNS = 35
ARPHRD_ETHER = 1
ARPHRD_LOOPBACK = 772
_DLT_EN10MB = 1
_DLT_RAW = 12               # libpcap's DLT_RAW on Linux (LINKTYPE_RAW in files)
_TIMESPEC = struct.Struct("@qq")
_TPACKET_STATS = struct.Struct("@II")


class LiveCaptureError(SecurityMonitorError):
    """The interface cannot be captured on, or the filter does not compile."""


@dataclass(frozen=True, slots=True)
class CaptureStats:
    """Frames the kernel passed the filter (`received`, outgoing loopback copies included)
    and frames it dropped because the socket buffer was full (`dropped`)."""

    received: int
    dropped: int


class _BpfInsn(ctypes.Structure):
    _fields_ = [("code", ctypes.c_ushort), ("jt", ctypes.c_ubyte), ("jf", ctypes.c_ubyte),
                ("k", ctypes.c_uint32)]


class _BpfProgram(ctypes.Structure):
    _fields_ = [("bf_len", ctypes.c_uint), ("bf_insns", ctypes.POINTER(_BpfInsn))]


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(_BpfInsn))]


def _libpcap() -> ctypes.CDLL:
    name = ctypes.util.find_library("pcap") or "libpcap.so.0.8"
    try:
        lib = ctypes.CDLL(name)
    except OSError as exc:
        raise LiveCaptureError(
            f"a BPF filter needs libpcap to compile it, and {name} cannot be loaded ({exc}); "
            "install it (Debian: apt-get install libpcap0.8) or capture without --filter"
        ) from exc
    lib.pcap_open_dead.restype = ctypes.c_void_p
    lib.pcap_open_dead.argtypes = [ctypes.c_int, ctypes.c_int]
    lib.pcap_compile.argtypes = [ctypes.c_void_p, ctypes.POINTER(_BpfProgram), ctypes.c_char_p,
                                 ctypes.c_int, ctypes.c_uint32]
    lib.pcap_geterr.restype = ctypes.c_char_p
    lib.pcap_geterr.argtypes = [ctypes.c_void_p]
    lib.pcap_freecode.argtypes = [ctypes.POINTER(_BpfProgram)]
    lib.pcap_close.argtypes = [ctypes.c_void_p]
    return lib


def compile_filter(expression: str, *, linktype: int = LINKTYPE_ETHERNET,
                   snaplen: int = 65535) -> bytes:
    """The classic BPF program (the kernel's `struct sock_filter` array, 8 bytes per
    instruction) for a tcpdump-style `expression` over frames of `linktype`."""
    lib = _libpcap()
    dlt = _DLT_EN10MB if linktype == LINKTYPE_ETHERNET else _DLT_RAW
    handle = lib.pcap_open_dead(dlt, snaplen)
    if not handle:
        raise LiveCaptureError("libpcap: pcap_open_dead failed")
    program = _BpfProgram()
    try:
        if lib.pcap_compile(handle, ctypes.byref(program), expression.encode(), 1,
                            0xFFFFFFFF) != 0:
            reason = (lib.pcap_geterr(handle) or b"unknown error").decode(errors="replace")
            raise LiveCaptureError(f"filter {expression!r} does not compile: {reason}")
        try:
            return ctypes.string_at(program.bf_insns, program.bf_len * ctypes.sizeof(_BpfInsn))
        finally:
            lib.pcap_freecode(ctypes.byref(program))
    finally:
        lib.pcap_close(handle)


def _interface_type(iface: str) -> int:
    path = Path("/sys/class/net") / iface / "type"
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError) as exc:
        raise LiveCaptureError(f"interface {iface!r}: not found ({path}: {exc}); "
                               f"interfaces here: {', '.join(n for _, n in socket.if_nameindex())}"
                               ) from exc


def _attach(sock: socket.socket, program: bytes) -> None:
    count = len(program) // ctypes.sizeof(_BpfInsn)
    insns = (_BpfInsn * count).from_buffer_copy(program)
    fprog = _SockFprog(count, ctypes.cast(insns, ctypes.POINTER(_BpfInsn)))
    sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, bytes(fprog))


class LiveCapture:
    """Frames from `iface` as they arrive. On a loopback interface every frame shows up
    twice (once outgoing, once incoming): the outgoing copy is skipped, as libpcap does.
    `bpf` (tcpdump syntax) is applied in the kernel before a frame is copied to us."""

    def __init__(self, iface: str, *, bpf: str | None = None,
                 buffer_bytes: int = 8 << 20, poll_s: float = 0.2) -> None:
        self.iface = iface
        self.bpf = bpf
        hatype = _interface_type(iface)
        self.linktype = LINKTYPE_ETHERNET if hatype in (ARPHRD_ETHER, ARPHRD_LOOPBACK) \
            else LINKTYPE_RAW
        self.loopback = hatype == ARPHRD_LOOPBACK
        self._program = compile_filter(bpf, linktype=self.linktype) if bpf else None
        self._buffer_bytes = buffer_bytes
        self._poll_s = poll_s
        self._sock: socket.socket | None = None
        self._received = self._dropped = 0
        self._lock = threading.Lock()
        self.skipped_outgoing = 0

    def open(self) -> None:
        """Open the socket (once: opening an open capture does nothing)."""
        if self._sock is not None:
            return
        # Protocol 0 receives nothing until bind: the filter is in place before any frame.
        try:
            sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
        except PermissionError as exc:
            raise LiveCaptureError(f"capture on {self.iface}: permission denied; run as root "
                                   "or give python CAP_NET_RAW") from exc
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, self._buffer_bytes)
            sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
            if self._program is not None:
                _attach(sock, self._program)
            sock.bind((self.iface, ETH_P_ALL))
            sock.settimeout(self._poll_s)
        except OSError as exc:
            sock.close()
            raise LiveCaptureError(f"capture on {self.iface}: {exc.strerror or exc}") from exc
        self._sock = sock

    def close(self) -> None:
        if self._sock is not None:
            self.stats()                    # keep the last counts
            self._sock.close()
            self._sock = None

    def __enter__(self) -> LiveCapture:
        self.open()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def stats(self) -> CaptureStats:
        """Counts since open (the kernel resets its counters on each read: we add them up)."""
        with self._lock:
            if self._sock is not None:
                raw = self._sock.getsockopt(SOL_PACKET, PACKET_STATISTICS, _TPACKET_STATS.size)
                packets, drops = _TPACKET_STATS.unpack(raw)
                self._received += packets
                self._dropped += drops
            return CaptureStats(self._received, self._dropped)

    def frames(self, stop: threading.Event) -> Iterator[Frame]:
        """Frames until `stop` is set (checked at least every `poll_s`)."""
        sock = self._sock
        if sock is None:
            raise LiveCaptureError(f"capture on {self.iface}: not open")
        ancillary = socket.CMSG_SPACE(_TIMESPEC.size)
        linktype, loopback = self.linktype, self.loopback
        while not stop.is_set():
            try:
                data, cmsgs, _flags, address = sock.recvmsg(65535, ancillary)
            except TimeoutError:
                continue
            if loopback and address[2] == PACKET_OUTGOING:
                self.skipped_outgoing += 1
                continue
            yield Frame(_timestamp(cmsgs), linktype, data, len(data))


def _timestamp(cmsgs: list[tuple[int, int, bytes]]) -> int:
    for level, kind, payload in cmsgs:
        if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS \
                and len(payload) >= _TIMESPEC.size:
            sec, nsec = _TIMESPEC.unpack_from(payload)
            return int(sec) * 1_000_000_000 + int(nsec)
    return time.time_ns()
