"""Runs the monitor on a live interface until told to stop: frames from a `LiveCapture`
into `Monitor.feed`, a progress report every few seconds with the kernel's drop count,
and the capture statistics folded into the summary."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from isthmus.security.capture.live import CaptureStats, LiveCapture
from isthmus.security.monitor import Monitor, MonitorSummary

__all__ = ["LiveProgress", "watch"]


@dataclass(frozen=True, slots=True)
class LiveProgress:
    iface: str
    frames: int
    events: int
    received: int
    dropped: int
    elapsed_s: float


def watch(monitor: Monitor, capture: LiveCapture, stop: threading.Event, *,
          progress: Callable[[LiveProgress], None] | None = None,
          progress_every_s: float = 10.0) -> MonitorSummary:
    """Feed `monitor` from the open `capture` until `stop` is set, then finish the
    monitor and return its summary with `capture` = interface, filter, frames, drops."""
    source = f"iface:{capture.iface}"
    monitor.files.append(source)
    started = time.monotonic()
    next_report = started + progress_every_s
    frames = 0

    def report() -> CaptureStats:
        stats = capture.stats()
        if progress is not None:
            progress(LiveProgress(capture.iface, frames, monitor.events, stats.received,
                                  stats.dropped, time.monotonic() - started))
        return stats

    for frame in capture.frames(stop):
        frames += 1
        monitor.feed(frame)
        if progress is not None and frames % 256 == 0 and time.monotonic() >= next_report:
            report()
            next_report += progress_every_s
    stats = report()
    summary = monitor.finish()
    summary.capture = {"interface": capture.iface, "filter": capture.bpf or "",
                       "frames": frames, "kernel_received": stats.received,
                       "kernel_dropped": stats.dropped,
                       "skipped_outgoing": capture.skipped_outgoing}
    return summary
