"""The Modbus/TCP connector the runtime starts: one per link (host:port), built from the
site file; it polls, reports samples by exception, raises events and reports health."""

from __future__ import annotations

import random
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence

from isthmus.config.schema import ModbusDeviceConfig, SiteConfig
from isthmus.connectors.modbus.breaker import Backoff, UnitBreaker
from isthmus.connectors.modbus.fingerprint import ConfigWatch, DeviceFingerprint
from isthmus.connectors.modbus.health import ModbusHealth
from isthmus.connectors.modbus.planner import RequestPlan, plan_requests
from isthmus.connectors.modbus.poller import DeviceRuntime, LinkPoller, PollOptions
from isthmus.connectors.modbus.ratelimit import TokenBucket
from isthmus.connectors.modbus.rbe import ReportByException
from isthmus.model import Event, SampleBatch, TagRegistry

__all__ = ["ModbusConnector", "build_connectors"]


class ModbusConnector:
    """Reads every device behind one Modbus/TCP endpoint. Give it one device, or several
    that share `host:port` (a gateway); `build_connectors` groups them for you."""

    def __init__(self, site: SiteConfig,
                 device: ModbusDeviceConfig | Sequence[ModbusDeviceConfig],
                 registry: TagRegistry, *, clock: Callable[[], int] = time.time_ns,
                 rng_seed: int = 0, options: PollOptions | None = None,
                 baselines: Mapping[str, DeviceFingerprint] | None = None) -> None:
        self._baselines = dict(baselines or {})
        devices = [device] if isinstance(device, ModbusDeviceConfig) else list(device)
        if not devices:
            raise ValueError("ModbusConnector needs at least one device")
        links = {(d.host, d.port) for d in devices}
        if len(links) != 1:
            raise ValueError(f"devices {', '.join(d.name for d in devices)} are on "
                             f"different endpoints {sorted(links)}; one connector per link")
        host, port = devices[0].host, devices[0].port
        self.options = options or PollOptions()
        self.link = f"{host}:{port}"
        self.name = "modbus:" + "+".join(d.name for d in devices)
        self._site, self._registry, self._devices = site, registry, devices
        self._clock = clock
        self._rng = random.Random(f"{rng_seed}:{host}:{port}")
        self.plans: list[RequestPlan] = [plan_requests(d, site, registry=registry)
                                         for d in devices]
        timeout = max([d.timeout for d in devices]
                      + [u.timeout for d in devices for u in d.units if u.timeout])
        self._poller: LinkPoller | None = None
        self._timeout = timeout

    def _runtime(self, device: ModbusDeviceConfig, plan: RequestPlan) -> DeviceRuntime:
        opts = self.options
        breakers = {u.unit_id: UnitBreaker(
            threshold=opts.breaker_threshold,
            backoff=Backoff(opts.unit_backoff_base_s, opts.unit_backoff_cap_s, self._rng))
            for u in device.units}
        assets = {u.unit_id: f"{self._site.enterprise}/{self._site.site}/{u.path}"
                  for u in device.units}
        rbe = ReportByException([p.point.deadband for p in plan.points],
                                max_silence_ns=int(opts.max_silence_s * 1e9))
        watch = None if device.config_integrity is None else ConfigWatch(
            device, f"{self._site.enterprise}/{self._site.site}/{device.units[0].path}",
            f"modbus://{device.host}:{device.port}", baseline=self._baselines.get(device.name))
        return DeviceRuntime(device, plan, TokenBucket(device.max_requests_per_second),
                             breakers, assets, rbe, watch)

    async def run(self, emit_samples: Callable[[SampleBatch], Awaitable[None]],
                  emit_event: Callable[[Event], Awaitable[None]]) -> None:
        """Poll until cancelled; cancelling is a clean stop (the socket is closed)."""
        runtimes = [self._runtime(d, p) for d, p in zip(self._devices, self.plans, strict=True)]
        host, port = self._devices[0].host, self._devices[0].port
        self._poller = LinkPoller(host, port, runtimes, clock=self._clock, rng=self._rng,
                                  options=self.options, timeout=self._timeout)
        await self._poller.run(emit_samples, emit_event)

    def health(self) -> ModbusHealth:
        poller = self._poller
        if poller is None:
            return ModbusHealth(self.link, False, None, 0, 0, 0, 0, 0, 0, 0, 0, 0.0, None,
                                None, 0, 0.0, sum(len(p.holes) for p in self.plans),
                                sum(len(p.unreadable) for p in self.plans))
        s = poller.stats
        p50, p95 = s.latency_percentiles()
        return ModbusHealth(
            link=self.link, connected=s.connected, last_error=s.last_error,
            requests=s.requests, responses=s.responses, timeouts=s.timeouts,
            exceptions=s.exceptions, overruns=s.overruns, reconnects=s.reconnects,
            unexpected_errors=s.unexpected_errors, range_exceeded=s.range_exceeded,
            request_rate=s.request_rate, latency_ms_p50=p50, latency_ms_p95=p95,
            units_down=poller.units_down, tags_per_s=s.tags_per_s,
            holes=sum(len(p.holes) for p in self.plans),
            unreadable_points=sum(len(p.unreadable) for p in self.plans))


def build_connectors(site: SiteConfig, registry: TagRegistry, *,
                     clock: Callable[[], int] = time.time_ns, rng_seed: int = 0,
                     options: PollOptions | None = None,
                     baselines: Mapping[str, DeviceFingerprint] | None = None,
                     ) -> list[ModbusConnector]:
    """One connector per distinct host:port; devices sharing an endpoint share its link.
    `baselines`: each device's last stored configuration fingerprint (docs/integrity.md)."""
    links: dict[tuple[str, int], list[ModbusDeviceConfig]] = {}
    for device in site.devices:
        links.setdefault((device.host, device.port), []).append(device)
    return [ModbusConnector(site, devices, registry, clock=clock, rng_seed=rng_seed,
                            options=options, baselines=baselines)
            for devices in links.values()]
