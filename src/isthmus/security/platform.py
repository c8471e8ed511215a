"""The security monitor inside the running platform: live capture in a thread of its own,
its alerts and flagged requests handed to the event loop and published on the bus as
security events (the historian sink stores them), the inventory upserted periodically.

    monitor = PlatformMonitor(site, site.security_monitor, data_dir=…, publish=bus.publish,
                              history=historian, store_assets=upsert)
    await supervise("security monitor", monitor.run, bus.publish)

A write that hits a known tag waits `settle` seconds, so that the process value after it is
in the historian when the event names the tag, the value written, and before/after.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from isthmus.config.schema import SiteConfig
from isthmus.config.security import SecurityMonitorConfig
from isthmus.historian.errors import HistorianError
from isthmus.model import Asset, Event, EventKind, Severity, now_ns
from isthmus.security.assets import configured_assets, discovered_assets, merge_assets
from isthmus.security.capture.live import LiveCapture
from isthmus.security.correlate import Correlator, ProcessHistory, correlation_fields
from isthmus.security.detect import Alert, Baseline, Detector, Zones, load_rules
from isthmus.security.detect.cef import CefSender
from isthmus.security.detect.errors import BaselineError, OutputError, RuleError
from isthmus.security.detect.zeek import ZeekLogs
from isthmus.security.ecs import to_ecs
from isthmus.security.errors import SecurityMonitorError
from isthmus.security.events import ProtocolEvent
from isthmus.security.flagged import is_flagged, platform_event
from isthmus.security.monitor import Monitor, MonitorEvent
from isthmus.security.watch import LiveProgress, watch

__all__ = ["MonitorCounters", "PlatformMonitor", "PlatformMonitorError", "alert_event",
           "site_filter"]

log = logging.getLogger(__name__)

Publish = Callable[[Event], Awaitable[None]]
StoreAssets = Callable[[Sequence[Asset]], None]
_MAX_PENDING = 10_000


class PlatformMonitorError(SecurityMonitorError):
    """The `security_monitor:` section cannot be put to work (rules, baseline, outputs)."""


def site_filter(site: SiteConfig) -> str | None:
    """A BPF filter for the traffic of the site's devices (None: the site has none)."""
    hosts = sorted({d.host for d in site.devices})
    return " or ".join(f"host {h}" for h in hosts) or None


def alert_event(alert: Alert, doc: dict[str, Any] | None = None) -> Event:
    """A detection rule's alert as a platform security event; `doc` is its ECS document
    (with the correlated `isthmus.tag`… when the alert was about a write to a known tag)."""
    doc = doc if doc is not None else to_ecs(alert)
    return Event(alert.ts_ns, EventKind.SECURITY, alert.severity, alert.summary(),
                 source="monitor", asset=alert.server, tag=doc.get("isthmus", {}).get("tag"),
                 attack_techniques=tuple(i for t in alert.techniques for i in t.ids), data=doc)


@dataclass(slots=True)
class MonitorCounters:
    """What the gateway's status line shows, updated by the capture thread and the loop."""

    mode: str = "detect"
    frames: int = 0
    kernel_dropped: int = 0
    alerts: int = 0
    flagged: int = 0
    published: int = 0
    overflowed: int = 0            # findings dropped because the loop fell 10,000 behind
    assets: int = 0
    output_errors: int = 0         # CEF sends that failed (the SIEM is down)

    def line(self) -> str:
        return (f"security ({self.mode}): {self.frames:,} frames, {self.kernel_dropped:,} "
                f"dropped, {self.alerts:,} alerts, {self.published:,} events, "
                f"{self.assets} assets")


@dataclass(slots=True)
class _Finding:
    """An alert or a flagged request, with the request it is about (for correlation), or
    the monitor's own `note` (the baseline was learned)."""

    alert: Alert | None
    request: ProtocolEvent | None
    note: Event | None = None
    due: float = 0.0               # time.monotonic() after which it is published


@dataclass
class _Outputs:
    detector: Detector
    cef: CefSender | None = None
    zeek: ZeekLogs | None = None

    def close(self) -> None:
        if self.cef is not None:
            self.cef.close()
        if self.zeek is not None:
            self.zeek.close()


class PlatformMonitor:
    """One run of `run()` captures until cancelled; a crash ends it with the error (the
    gateway's supervisor reports it and restarts with a new capture and detector)."""

    def __init__(self, site: SiteConfig, config: SecurityMonitorConfig, *, data_dir: Path,
                 publish: Publish, history: ProcessHistory | None = None,
                 store_assets: StoreAssets | None = None) -> None:
        self.site = site
        self.config = config
        self.bpf = config.bpf if config.bpf is not None else site_filter(site)
        self.baseline_path = data_dir / "security" / "baseline.json"
        self.counters = MonitorCounters()
        self._publish = publish
        self._store_assets = store_assets
        self._naming = Correlator(site)
        self._correlator = Correlator(site, history=history)
        self._pending: list[_Finding] = []
        self._snapshot: list[Asset] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._last_request: ProtocolEvent | None = None
        self._monitor: Monitor | None = None
        self.check()

    def status(self) -> str:
        """The status-line part: frames read so far, drops, alerts, events, assets."""
        if self._monitor is not None:
            self.counters.frames = self._monitor.decoder.stats.frames
        return self.counters.line()

    def check(self) -> None:
        """Build the detector and outputs once, so that a bad rule file or baseline is
        reported when the gateway starts, not on the first restart."""
        self._outputs(zeek=False).close()

    def probe(self) -> None:
        """Open and close the capture: raises LiveCaptureError at once when the interface
        or the permission (root or CAP_NET_RAW) is missing."""
        with LiveCapture(self.config.iface, bpf=self.bpf):
            pass

    # ---- set-up ----------------------------------------------------------------------

    def _outputs(self, *, zeek: bool = True) -> _Outputs:
        """The detector and the SIEM outputs; each run's Zeek logs go to a folder of their
        own named for its start (UTC), as Zeek archives its logs, so a restart keeps them."""
        c = self.config
        try:
            baseline, learn = None, False
            if c.baseline is not None:
                baseline = Baseline.load(c.baseline)
            elif c.learn_for is not None and self.baseline_path.exists():
                baseline = Baseline.load(self.baseline_path)   # learned on an earlier run
            elif c.learn_for is not None:
                learn = True
            detector = Detector(rules=load_rules(c.rules),
                                zones=Zones(ot_nets=c.ot_nets, it_nets=c.it_nets),
                                baseline=baseline, learn=learn, learn_for_s=c.learn_for,
                                on_learned=self._learned)
            outputs = _Outputs(detector)
            if c.cef is not None:
                outputs.cef = CefSender.parse(c.cef, tcp=c.cef_tcp)
            if c.zeek_dir is not None and zeek:
                outputs.zeek = ZeekLogs(c.zeek_dir / time.strftime("%Y-%m-%d-%H-%M-%S",
                                                                   time.gmtime()))
        except (RuleError, BaselineError, OutputError, ValueError, OSError) as exc:
            raise PlatformMonitorError(f"security_monitor: {exc}") from exc
        return outputs

    def _learned(self, baseline: Baseline) -> None:
        """Capture thread: the learning period is over; save, announce, protect."""
        self.counters.mode = "protect"
        learned = (f"security monitor: baseline of {len(baseline.links)} links learned from "
                   f"{baseline.events:,} events")
        try:
            self.baseline_path.parent.mkdir(parents=True, exist_ok=True)
            partial = self.baseline_path.with_suffix(".partial")
            baseline.save(partial)
            partial.replace(self.baseline_path)      # never a half-written baseline
        except (OSError, BaselineError) as exc:     # protect anyway; learn again next start
            message, severity = f"{learned}, not saved ({exc}); protecting", Severity.HIGH
        else:
            message = f"{learned}, saved to {self.baseline_path}; protecting"
            severity = Severity.INFO
        self._hand_over(_Finding(None, None, Event(
            now_ns(), EventKind.SECURITY, severity, message, source="monitor",
            data={"baseline": str(self.baseline_path)})))

    # ---- the capture thread ----------------------------------------------------------

    def _capture(self, capture: LiveCapture, outputs: _Outputs, stop: threading.Event,
                 done: asyncio.Future[None]) -> None:
        """Thread: feed the monitor until `stop`; hand findings and inventory snapshots
        to the loop; finally resolve `done` (with the error, if the capture failed)."""
        monitor = Monitor(sink=lambda event: self._sink(event, outputs),
                          detector=outputs.detector)
        self._monitor = monitor
        error: BaseException | None = None
        try:
            with capture:
                summary = watch(monitor, capture, stop,
                                progress=lambda p: self._progress(p, monitor),
                                progress_every_s=min(self.config.inventory_every, 10.0))
            self.counters.frames = int(summary.capture.get("frames", self.counters.frames))
            self.counters.kernel_dropped = int(summary.capture.get("kernel_dropped", 0))
            self._offer_snapshot(monitor)
        except Exception as exc:          # thread boundary: the error ends run() below
            log.exception("security monitor capture on %s failed", self.config.iface)
            error = exc
        assert self._loop is not None
        self._loop.call_soon_threadsafe(_resolve, done, error)

    def _progress(self, progress: LiveProgress, monitor: Monitor) -> None:
        self.counters.frames = progress.frames
        self.counters.kernel_dropped = progress.dropped
        self._offer_snapshot(monitor)

    def _offer_snapshot(self, monitor: Monitor) -> None:
        """Thread: the inventory as assets, taken where the monitor changes it."""
        assets = merge_assets(configured_assets(self.site), discovered_assets(monitor.inventory))
        assert self._loop is not None
        self._loop.call_soon_threadsafe(self._take_snapshot, assets)

    def _sink(self, event: MonitorEvent, outputs: _Outputs) -> None:
        """Thread: every event of the monitor. A protocol event is seen before the alerts
        it triggers, so an alert on the same flow at the same instant is about it."""
        if outputs.zeek is not None:
            outputs.zeek.write(event)
        if isinstance(event, ProtocolEvent):
            if event.direction == "request":
                self._last_request = event
            if is_flagged(event):
                self.counters.flagged += 1
                self._hand_over(_Finding(None, event))
        elif isinstance(event, Alert):
            self.counters.alerts += 1
            last = self._last_request
            trigger = last if last is not None and last.flow == event.flow \
                and last.ts_ns == event.ts_ns else None
            self._hand_over(_Finding(event, trigger))
            if outputs.cef is not None:
                try:
                    outputs.cef.send(event)
                except OutputError as exc:
                    self.counters.output_errors += 1
                    log.warning("security monitor: %s", exc)

    def _hand_over(self, item: _Finding) -> None:
        assert self._loop is not None
        self._loop.call_soon_threadsafe(self._accept, item)

    # ---- the event loop --------------------------------------------------------------

    def _accept(self, item: _Finding) -> None:
        """Loop: queue a finding; a write to a known tag waits for the process to settle."""
        if len(self._pending) >= _MAX_PENDING:
            self.counters.overflowed += 1
            return
        request = item.request
        writes = request is not None and bool(self._naming.correlate(request))
        item.due = time.monotonic() + (self.config.settle if writes else 0.0)
        self._pending.append(item)

    def _take_snapshot(self, assets: list[Asset]) -> None:
        self._snapshot = assets

    async def run(self) -> None:
        """Capture until cancelled; then publish what is pending and store the inventory."""
        self._loop = asyncio.get_running_loop()
        self._last_request = None
        outputs = self._outputs()
        self.counters.mode = outputs.detector.mode
        try:                               # a bad filter or no permission: raised at once
            capture = LiveCapture(self.config.iface, bpf=self.bpf)
            capture.open()
        except BaseException:
            outputs.close()
            raise
        stop, done = threading.Event(), self._loop.create_future()
        thread = threading.Thread(target=self._capture, args=(capture, outputs, stop, done),
                                  name="security-monitor", daemon=True)
        thread.start()
        next_store = time.monotonic()
        try:
            while not done.done():
                await self._publish_ready(flush=False)
                if self._snapshot is not None and time.monotonic() >= next_store:
                    await self._store()
                    next_store = time.monotonic() + self.config.inventory_every
                await asyncio.wait([done], timeout=0.25)    # findings wait ≤ 0.25 s
            done.result()                  # the capture's error, if it failed
        finally:
            stop.set()
            await asyncio.to_thread(thread.join)
            done.add_done_callback(_retrieved)      # an error while stopping is logged only
            outputs.close()
            await self._publish_ready(flush=True)
            await self._store()

    async def _publish_ready(self, *, flush: bool) -> None:
        now = time.monotonic()
        ready = [f for f in self._pending if flush or f.due <= now]
        if not ready:
            return
        self._pending = [f for f in self._pending if not (flush or f.due <= now)]
        events = await asyncio.to_thread(self._events_of, ready)
        for event in events:
            await self._publish(event)
            self.counters.published += 1

    def _events_of(self, findings: list[_Finding]) -> list[Event]:
        """Worker thread: each finding as a security event, writes correlated with the
        tag map and the process history (which the historian is read for)."""
        events = []
        for finding in findings:
            if finding.note is not None:
                events.append(finding.note)
                continue
            subject = finding.alert if finding.alert is not None else finding.request
            assert subject is not None
            doc = to_ecs(subject)
            if finding.request is not None:
                fields = self._correlation(finding.request)
                if fields:
                    doc.setdefault("isthmus", {}).update(fields)
            if finding.alert is not None:
                events.append(alert_event(finding.alert, doc))
            else:
                assert finding.request is not None
                events.append(platform_event(finding.request, doc))
        return events

    def _correlation(self, request: ProtocolEvent) -> dict[str, Any]:
        try:
            return correlation_fields(self._correlator.correlate(request))
        except HistorianError as exc:
            return {"correlation_error": str(exc)}

    async def _store(self) -> None:
        assets, self._snapshot = self._snapshot, None
        if assets is None or self._store_assets is None:
            return
        try:
            await asyncio.to_thread(self._store_assets, assets)
        except HistorianError as exc:
            log.warning("security monitor: inventory not stored: %s", exc)
            return
        self.counters.assets = len(assets)


def _retrieved(done: asyncio.Future[None]) -> None:
    if not done.cancelled():
        done.exception()


def _resolve(done: asyncio.Future[None], error: BaseException | None) -> None:
    if done.done():
        return
    if error is None:
        done.set_result(None)
    else:
        done.set_exception(error)
