"""Real traffic on `lo` for the live-capture, correlation and attack tests: the example
plant served on test-owned loopback addresses and free ports, and a live monitor running
in a thread while the test makes traffic."""

from __future__ import annotations

import socket
import threading
from pathlib import Path

import pytest

from isthmus.config import load_site
from isthmus.config.schema import SiteConfig
from isthmus.security import Monitor, MonitorEvent, MonitorSummary
from isthmus.security.capture.live import LiveCapture, LiveCaptureError
from isthmus.security.watch import watch

EXAMPLE = Path(__file__).parents[2] / "examples" / "packaging-plant.yaml"


def free_port(host: str) -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def plant_on(host_base: str) -> SiteConfig:
    """The example plant with device i on host_base+i, each on a free port."""
    return load_site(EXAMPLE).on_hosts(host_base, port_of=free_port)


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
