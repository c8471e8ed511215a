"""One OPC UA server's configuration watch: read its BuildInfo and certificate every
`config_integrity.every` seconds and raise the baseline / change integrity events; an
unreachable server is one event, retried with a capped backoff, never a crash."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

from isthmus.config.schema import OpcUaServerConfig, SiteConfig
from isthmus.connectors.fingerprint import ConfigJudge, DeviceFingerprint
from isthmus.connectors.opcua.errors import OpcUaError
from isthmus.connectors.opcua.identity import ServerIdentity, fingerprint_of, techniques_of
from isthmus.model import Event, EventKind, SampleBatch, Severity

__all__ = ["IdentityReader", "OpcUaConfigWatch", "OpcUaWatchHealth", "build_config_watches"]

log = logging.getLogger(__name__)


class IdentityReader(Protocol):
    """The I/O seam: `OpcUaClientAdapter`, or an in-memory reader in tests."""

    async def read_identity(self) -> ServerIdentity: ...


@dataclass(frozen=True, slots=True)
class OpcUaWatchHealth:
    link: str
    connected: bool          # the last reading succeeded
    last_error: str | None
    checks: int
    failures: int


class OpcUaConfigWatch:
    """Watches one server (a Connector: the gateway supervises its `run`). Emits events
    only, never samples."""

    def __init__(self, server: OpcUaServerConfig, asset: str, *,
                 reader: IdentityReader | None = None,
                 baseline: DeviceFingerprint | None = None,
                 clock: Callable[[], int] = time.time_ns,
                 first_retry_s: float = 5.0, rng: random.Random | None = None) -> None:
        if server.config_integrity is None:
            raise ValueError(f"opcua server {server.name}: no config_integrity section")
        self.server = server
        self.settings = server.config_integrity
        self.name = f"opcua:{server.name}"
        self.source = server.endpoint
        if reader is None:  # imported here: asyncua loads only when a server is watched
            from isthmus.connectors.opcua.adapter import OpcUaClientAdapter
            reader = OpcUaClientAdapter(server.endpoint, timeout=self.settings.timeout)
        self._reader = reader
        self._judge = ConfigJudge(server.name, asset, server.endpoint, baseline=baseline,
                                  techniques=techniques_of)
        self._clock = clock
        self._first_retry_s = min(first_retry_s, self.settings.every)
        self._rng = rng or random.Random(server.endpoint)
        self._health = OpcUaWatchHealth(server.endpoint, False, None, 0, 0)

    @property
    def history(self) -> list[DeviceFingerprint]:
        return self._judge.history

    def health(self) -> OpcUaWatchHealth:
        return self._health

    async def run(self, emit_samples: Callable[[SampleBatch], Awaitable[None]],
                  emit_event: Callable[[Event], Awaitable[None]]) -> None:
        """Check now, then every `every` seconds (after a failure: sooner, backing off)."""
        retry_s = self._first_retry_s
        while True:
            if await self.check(emit_event):
                retry_s = self._first_retry_s
                await asyncio.sleep(self.settings.every)
            else:
                await asyncio.sleep(retry_s * (0.75 + 0.5 * self._rng.random()))
                retry_s = min(retry_s * 2, self.settings.every)

    async def check(self, emit_event: Callable[[Event], Awaitable[None]]) -> bool:
        """One reading; its integrity event, if any, is emitted. False when it failed."""
        h = self._health
        try:
            identity = await self._reader.read_identity()
        except OpcUaError as exc:
            self._health = OpcUaWatchHealth(h.link, False, str(exc), h.checks + 1,
                                            h.failures + 1)
            log.warning("%s: configuration check failed: %s", self.name, exc)
            if h.last_error is None:  # one event per outage, not one per retry
                await emit_event(self._system(
                    Severity.MEDIUM, f"opcua server {self.server.name}: configuration check "
                    f"failed ({exc}); retrying with backoff up to every "
                    f"{self.settings.every:g} s", state="config_check_failed", error=str(exc)))
            return False
        self._health = OpcUaWatchHealth(h.link, True, None, h.checks + 1, h.failures)
        if h.last_error is not None:
            await emit_event(self._system(
                Severity.INFO, f"opcua server {self.server.name}: reachable again",
                state="config_check_recovered"))
        event = self._judge.judge(fingerprint_of(identity), self._clock())
        if event is not None:
            await emit_event(event)
        return True

    def _system(self, severity: Severity, message: str, **data: object) -> Event:
        return Event(self._clock(), EventKind.SYSTEM, severity, message, source=self.source,
                     asset=self._judge.asset, data={"device": self.server.name, **data})


def build_config_watches(site: SiteConfig, *,
                         baselines: Mapping[str, DeviceFingerprint] | None = None,
                         clock: Callable[[], int] = time.time_ns) -> list[OpcUaConfigWatch]:
    """One watch per `opcua_servers` entry with a `config_integrity` section; `baselines`:
    each server's last stored fingerprint (docs/integrity.md)."""
    known = baselines or {}
    return [OpcUaConfigWatch(server, f"{site.enterprise}/{site.site}/{server.asset}",
                             baseline=known.get(server.name), clock=clock)
            for server in site.opcua_servers if server.config_integrity is not None]
