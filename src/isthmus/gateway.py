"""The running gateway: connectors → bus → historian, supervised, with a clean stop.

On stop (SIGINT/SIGTERM or a duration) the connectors stop first, then every sample the bus
accepted is written before the historian closes: nothing accepted is lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from isthmus.analytics.alarms import (
    AlarmEngine,
    latest_records,
    read_alarm_events,
    records_of,
)
from isthmus.analytics.anomaly.engine import AnomalyEngine, anomaly_derived_tags
from isthmus.analytics.efficiency import EfficiencyAnalytics, efficiency_derived_tags
from isthmus.analytics.health import HealthEngine, health_derived_tags
from isthmus.analytics.maintenance import Outbox, WebhookDelivery
from isthmus.bus import Bus
from isthmus.config.schema import SiteConfig
from isthmus.historian import Historian, HistorianError, HistorianUnavailable, LedgerHistorian
from isthmus.integrity.errors import IntegrityError
from isthmus.integrity.identity import GatewayIdentity
from isthmus.integrity.ledger import BatchSigner, Ledger
from isthmus.integrity.sensors import run_sensor_integrity
from isthmus.model import Asset, Event, EventKind, SampleBatch, Severity, Tag, TagRegistry, now_ns
from isthmus.sinks import HistorianSink, SinkStats

if TYPE_CHECKING:
    from isthmus.security.platform import PlatformMonitor

__all__ = ["Connector", "Gateway", "GatewayReport", "gateway_id_of", "supervise"]

log = logging.getLogger(__name__)


class Connector(Protocol):
    name: str

    async def run(self, emit_samples: Callable[[SampleBatch], Awaitable[None]],
                  emit_event: Callable[[Event], Awaitable[None]]) -> None: ...


@dataclass(slots=True)
class GatewayReport:
    duration_s: float = 0.0
    samples_published: int = 0
    events_published: int = 0
    sink: SinkStats = field(default_factory=SinkStats)
    connector_restarts: int = 0


async def supervise(
    name: str,
    run: Callable[[], Awaitable[None]],
    report: Callable[[Event], Awaitable[None]],
    *,
    max_backoff_s: float = 30.0,
    on_restart: Callable[[], None] = lambda: None,
) -> None:
    """Run `run` until cancelled; an unexpected exception is logged with its traceback,
    reported as an event, and the task restarted after a capped backoff."""
    backoff = 0.5
    while True:
        try:
            await run()
            return
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # task boundary: count, log, report, restart
            log.exception("%s crashed; restarting in %.1f s", name, backoff)
            on_restart()
            await report(Event(now_ns(), EventKind.SYSTEM, Severity.HIGH,
                               f"{name} crashed ({type(exc).__name__}: {exc}); restarting",
                               source=name))
            await asyncio.sleep(backoff * (0.5 + random.random()))
            backoff = min(backoff * 2, max_backoff_s)


def namespace_tags(site: SiteConfig) -> list[Tag]:
    """Every tag the gateway registers: the site's own and the analytics' derived tags."""
    return [*site.tags(), *anomaly_derived_tags(site), *efficiency_derived_tags(site),
            *health_derived_tags(site)]


def gateway_id_of(site: SiteConfig) -> str:
    """The gateway's identity name (its signing key name and ledger origin)."""
    return f"{site.enterprise}-{site.site}-gw"


async def _stop_all(tasks: Sequence[asyncio.Task[None]], *, patience_s: float = 5.0) -> None:
    """Cancel `tasks` and wait for them; a task that absorbed its cancellation (a library
    catching it) is cancelled again rather than leaving the stop hanging."""
    pending = set(tasks)
    while pending:
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=patience_s)
        if pending:
            log.warning("%d tasks still running %.0f s after cancellation; cancelling again",
                        len(pending), patience_s)


class Gateway:
    """Reads the site's devices into its historian until `stop` is set. With a historian
    that keeps a ledger, every connector batch is signed with the gateway's key (kept in
    DATA_DIR/identity) and the historian sink verifies and logs it (docs/integrity.md)."""

    def __init__(
        self,
        site: SiteConfig,
        historian: Historian,
        *,
        data_dir: Path,
        status: Callable[[str], None] | None = None,
        status_every_s: float = 10.0,
        historian_url: str | None = None,
    ) -> None:
        self.site = site
        self.historian = historian
        self.data_dir = data_dir
        self.bus = Bus()
        self.report = GatewayReport()
        self._status = status
        self._status_every_s = status_every_s
        self._connectors: Sequence[Connector] = ()
        self._signer: BatchSigner | None = None
        self.ledger: Ledger | None = None
        self._historian_url = historian_url      # the security monitor's asset table
        self.security: PlatformMonitor | None = None

    def start_registry(self) -> TagRegistry | None:
        """Register the site's tags with the historian, which owns their ids. When the
        historian is down, the ids it gave last time (cached in the data directory) let the
        gateway start and buffer; None if there is no usable cache yet."""
        tags = namespace_tags(self.site)
        cache = self.data_dir / "namespace.json"
        try:
            registry = self.historian.register_tags(tags)
        except HistorianUnavailable as exc:
            known = json.loads(cache.read_text()) if cache.exists() else {}
            if not all(t.path in known for t in tags):
                log.warning("historian unavailable (%s) and no cached namespace", exc)
                return None
            return TagRegistry((int(known[t.path]), t) for t in tags)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        cache.write_text(json.dumps({t.path: i for i, t in registry}))
        return registry

    async def _registry(self, stop: asyncio.Event) -> TagRegistry | None:
        while (registry := await asyncio.to_thread(self.start_registry)) is None:
            if self._status is not None:
                self._status("waiting for the historian to register the namespace…")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 2.0)
            if stop.is_set():
                return None
        return registry

    def build_connectors(self, registry: TagRegistry) -> Sequence[Connector]:
        from isthmus.connectors.fingerprint import DeviceFingerprint, stored_fingerprints
        from isthmus.connectors.modbus import build_connectors
        from isthmus.connectors.opcua import build_config_watches

        baselines: dict[str, DeviceFingerprint] = {}
        if any(d.config_integrity is not None for d in self.site.devices) or any(
                s.config_integrity is not None for s in self.site.opcua_servers):
            # the last stored fingerprints: a change made while stopped is still found
            with contextlib.suppress(HistorianUnavailable):
                baselines = stored_fingerprints(self.historian.events(
                    0, now_ns() + 1, kind="integrity", limit=1_000_000))
        return [*build_connectors(self.site, registry, baselines=baselines),
                *build_config_watches(self.site, baselines=baselines)]

    async def run(self, stop: asyncio.Event) -> GatewayReport:
        started = time.monotonic()
        registry = await self._registry(stop)
        if registry is None:
            return self.report
        self._connectors = self.build_connectors(registry)
        self.security = self._security_monitor()
        ledger_problem = await asyncio.to_thread(self._open_ledger)
        subscription = self.bus.subscribe("historian", durable=True, maxsize=1024)
        sink = HistorianSink(self.historian, subscription, ledger=self.ledger,
                             quarantine_dir=self.data_dir / "quarantine", linger_s=0.25,
                             witnesses=self.site.historian.witnesses)
        alarms = await self._alarm_engine(registry)
        async with asyncio.TaskGroup() as group:
            sink_task = group.create_task(sink.run())
            alarm_task = None if alarms is None else group.create_task(
                alarms.run(self.bus.subscribe("alarms", durable=True, maxsize=1024),
                           self.bus.publish))
            anomaly_task = None if not self.site.analytics.anomaly else group.create_task(
                AnomalyEngine(self.site, registry).run(
                    self.bus.subscribe("anomaly", durable=True, maxsize=1024), self.bus.publish,
                    lambda batch: self._emit_samples("analytics-anomaly", batch)))
            efficiency = EfficiencyAnalytics(self.site, registry)
            efficiency_task = None if not efficiency else group.create_task(efficiency.run(
                self.bus.subscribe("efficiency", durable=True, maxsize=1024), self.bus.publish,
                lambda batch: self._emit_samples("analytics-efficiency", batch)))
            health_task = None if not self.site.health.assets else group.create_task(
                HealthEngine(self.site, registry).run(
                    self.bus.subscribe("health", durable=True, maxsize=1024), self.bus.publish,
                    lambda batch: self._emit_samples("analytics-health", batch)))
            sensors_task = None if self.site.integrity is None else group.create_task(
                run_sensor_integrity(
                    self.site.integrity, registry, prefix=f"{self.site.enterprise}/"
                    f"{self.site.site}", subscription=self.bus.subscribe(
                        "sensor-integrity", durable=True, maxsize=1024),
                    publish=self.bus.publish, read_raw=self.historian.raw))
            webhook = self._webhook()
            if webhook is not None:
                group.create_task(webhook.run(self.bus.subscribe("webhook", durable=True,
                                                                 maxsize=1024)))
            workers = [group.create_task(self._supervised(c)) for c in self._connectors]
            if self.security is not None:
                workers.append(group.create_task(supervise(
                    "security monitor", self.security.run, self.bus.publish)))
            if self._status is not None:
                workers.append(group.create_task(self._status_loop(sink)))
            if self.site.historian.retention_days is not None:
                workers.append(group.create_task(self._retention_loop(
                    self.site.historian.retention_days)))
            await self._announce(f"gateway started: {len(registry)} tags, "
                                 f"{len(self._connectors)} links")
            if ledger_problem:
                await self._announce(ledger_problem, kind=EventKind.INTEGRITY,
                                     severity=Severity.HIGH)
            await stop.wait()
            await _stop_all(workers)
            await self._announce("gateway stopping: flushing")
            await self.bus.close()
        self.report.sink = sink_task.result()
        if alarm_task is not None and alarm_task.result().unpublished:
            # alarm events raised while the bus was closing: stored directly, never dropped
            await asyncio.to_thread(self.historian.write_events, alarm_task.result().unpublished)
        if anomaly_task is not None and anomaly_task.result().unpublished:
            await asyncio.to_thread(self.historian.write_events,
                                    anomaly_task.result().unpublished)
        if sensors_task is not None and sensors_task.result().unpublished:
            await asyncio.to_thread(self.historian.write_events,
                                    sensors_task.result().unpublished)
        if efficiency_task is not None and efficiency_task.result().unpublished:
            await asyncio.to_thread(self.historian.write_events,
                                    efficiency_task.result().unpublished)
        if health_task is not None and health_task.result().unpublished:
            await asyncio.to_thread(self.historian.write_events,
                                    health_task.result().unpublished)
        if webhook is not None:
            webhook.outbox.close()  # what is undelivered waits there for the next start
        self.report.samples_published = self.bus.published_samples
        self.report.events_published = self.bus.published_events
        self.report.duration_s = time.monotonic() - started
        return self.report

    def _open_ledger(self) -> str | None:
        """Load the gateway's key and the historian's ledger; the reason when batches will
        go unsigned this run (a key problem is raised: the operator must fix it)."""
        if not isinstance(self.historian, LedgerHistorian):
            return None
        identity = GatewayIdentity.load_or_create(self.data_dir / "identity",
                                                  gateway_id_of(self.site))
        try:
            ledger = Ledger(self.historian, identity)
            ledger.sign_tag_map()  # a renamed tag is then found by 'ledger verify'
            self.ledger = ledger
        except (HistorianError, IntegrityError) as exc:
            log.error("ledger not opened, batches stay unsigned this run: %s", exc)
            return f"ledger not opened, batches stay unsigned this run: {exc}"
        self._signer = BatchSigner(identity, self.ledger.tracker.positions())
        return None

    async def _emit_samples(self, source: str, batch: SampleBatch) -> None:
        if self._signer is not None and len(batch):
            batch = self._signer.sign(source, batch)
        await self.bus.publish(batch)

    def _webhook(self) -> WebhookDelivery | None:
        """The maintenance webhook (site file `maintenance: webhook:`), its outbox in the
        data directory."""
        config = self.site.maintenance.webhook
        if config is None:
            return None
        return WebhookDelivery(config, Outbox(self.data_dir / "webhook-outbox.db"),
                               site=f"{self.site.enterprise}/{self.site.site}",
                               report=self.bus.publish)

    async def _alarm_engine(self, registry: TagRegistry) -> AlarmEngine | None:
        """The site's alarm engine, its state restored from the stored alarm events."""
        if not self.site.alarms:
            return None
        engine = AlarmEngine(self.site, registry)

        def restore() -> int:
            events = read_alarm_events(self.historian, 0, now_ns() + 1)
            return engine.restore(latest_records(records_of(events)).values())

        try:
            restored = await asyncio.to_thread(restore)
        except HistorianUnavailable as exc:
            log.warning("alarm states not restored: historian unavailable (%s)", exc)
        else:
            log.info("alarm engine: %d alarms, %d states restored", len(self.site.alarms),
                     restored)
        return engine

    async def _supervised(self, connector: Connector) -> None:
        def restarted() -> None:
            self.report.connector_restarts += 1

        await supervise(
            f"connector {connector.name}",
            lambda: connector.run(lambda b: self._emit_samples(connector.name, b),
                                  self.bus.publish),
            self.bus.publish,
            on_restart=restarted,
        )

    async def _retention_loop(self, days: float, *, every_s: float = 3600.0) -> None:
        """Delete history older than the configured retention, at start and then hourly."""
        while True:
            cutoff = now_ns() - int(days * 86400e9)
            try:
                if self.ledger is not None:  # signed first: policy, not tampering, to verify
                    await asyncio.to_thread(self.ledger.record_retention, cutoff,
                                            policy=f"historian.retention_days={days:g}")
                removed = await asyncio.to_thread(self.historian.apply_retention, cutoff)
            except HistorianUnavailable as exc:
                log.warning("retention skipped: historian unavailable (%s)", exc)
            else:
                if removed:
                    await self._announce(f"retention: removed {removed:,} samples older than "
                                         f"{days:g} days", data={"removed": removed})
            await asyncio.sleep(every_s)

    async def _announce(self, message: str, *, kind: EventKind = EventKind.SYSTEM,
                        severity: Severity = Severity.INFO,
                        data: dict[str, object] | None = None) -> None:
        """Publish one of the gateway's own events."""
        await self.bus.publish(Event(now_ns(), kind, severity, message, source="gateway",
                                     data=data or {}))

    async def _status_loop(self, sink: HistorianSink) -> None:
        assert self._status is not None
        while True:
            await asyncio.sleep(self._status_every_s)
            self._status(self.status_line(sink))

    def status_line(self, sink: HistorianSink) -> str:
        health = [c.health() for c in self._connectors if hasattr(c, "health")]
        up = sum(1 for h in health if getattr(h, "connected", False))
        return (f"samples accepted {self.bus.published_samples:,} · written "
                f"{sink.stats.samples_written:,} · links up {up}/{len(health)} · "
                f"events {self.bus.published_events}"
                + ("" if self.security is None else f" · {self.security.status()}"))

    def _security_monitor(self) -> PlatformMonitor | None:
        """The site's `security_monitor:` as a component (None when the section is absent);
        a bad rule file, baseline or output raises PlatformMonitorError now."""
        config = self.site.security_monitor
        if config is None:
            return None
        from isthmus.historian.assets import open_asset_store
        from isthmus.security.platform import PlatformMonitor

        url = self._historian_url

        def store_assets(assets: Sequence[Asset]) -> None:
            assert url is not None
            with open_asset_store(url) as store:
                store.upsert(assets)

        return PlatformMonitor(self.site, config, data_dir=self.data_dir,
                               publish=self.bus.publish, history=self.historian,
                               store_assets=None if url is None else store_assets)
