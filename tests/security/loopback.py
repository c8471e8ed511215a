"""Real traffic on `lo` for the live-capture, correlation and attack tests: the example
plant served on test-owned loopback addresses and free ports, a raw AF_PACKET capture of
`lo`, and a live monitor running in a thread while the test makes traffic."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from isthmus.config import load_site
from isthmus.config.schema import SiteConfig
from isthmus.security import Monitor, MonitorEvent, MonitorSummary
from isthmus.security.capture import PcapWriter
from isthmus.security.capture.live import LiveCapture, LiveCaptureError
from isthmus.security.watch import watch

EXAMPLE = Path(__file__).parents[2] / "examples" / "packaging-plant.yaml"
ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4


def free_port(host: str) -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def plant_on(host_base: str) -> SiteConfig:
    """The example plant with device i on host_base+i, each on a free port."""
    return load_site(EXAMPLE).on_hosts(host_base, port_of=free_port)


def to_or_from(host_base: str) -> Callable[[bytes], bool]:
    """Ethernet/IPv4 frames whose source or destination is in `host_base`'s /24."""
    prefix = socket.inet_aton(host_base + "0")[:3]
    return lambda data: len(data) >= 34 and prefix in (data[26:29], data[30:33])


def tcp_port(port: int) -> Callable[[bytes], bool]:
    """Ethernet/IPv4 TCP frames whose source or destination port is `port`."""
    wanted = port.to_bytes(2, "big")

    def match(data: bytes) -> bool:
        if len(data) < 38 or data[23] != 6:
            return False
        start = 14 + (data[14] & 0x0F) * 4
        return wanted in (data[start:start + 2], data[start + 2:start + 4])
    return match


class RawCapture:
    """Frames on `lo` that `wanted` accepts, with their capture time, captured in a thread,
    each once (the copy the kernel shows as outgoing is skipped, as libpcap does on
    loopback). Skips the test where AF_PACKET needs a privilege it does not have."""

    def __init__(self, wanted: Callable[[bytes], bool]) -> None:
        try:
            self._sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW,
                                       socket.htons(ETH_P_ALL))
            self._sock.bind(("lo", 0))
        except OSError as exc:
            pytest.skip(f"cannot open an AF_PACKET socket on lo (needs root or "
                        f"CAP_NET_RAW): {exc}")
        self._sock.settimeout(0.1)
        self._wanted = wanted
        self.stamped: list[tuple[int, bytes]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @property
    def frames(self) -> list[bytes]:
        return [frame for _ts, frame in self.stamped]

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                data, address = self._sock.recvfrom(65535)
            except TimeoutError:
                continue
            if address[2] != PACKET_OUTGOING and self._wanted(data):
                self.stamped.append((time.time_ns(), data))

    def __enter__(self) -> RawCapture:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sock.close()

    def write(self, path: Path) -> Path:
        """The frames as a pcap at `path`, with their capture times."""
        with path.open("wb") as stream:
            writer = PcapWriter(stream)
            for ts, frame in self.stamped:
                writer.write(ts, frame)
        return path


class LiveMonitor:
    """`watch` over a `LiveCapture` of `iface` in a thread; events collected in order."""

    def __init__(self, *, bpf: str | None, iface: str = "lo",
                 monitor: Monitor | None = None) -> None:
        self.events: list[MonitorEvent] = []
        self.monitor = monitor or Monitor(sink=self.events.append)
        try:
            self.capture = LiveCapture(iface, bpf=bpf, poll_s=0.05)
            self.capture.open()
        except LiveCaptureError as exc:
            pytest.skip(f"no live capture here: {exc}")
        self.summary: MonitorSummary | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with self.capture:
            self.summary = watch(self.monitor, self.capture, self._stop)

    def __enter__(self) -> LiveMonitor:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
