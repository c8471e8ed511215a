"""The OPC UA configuration watch against a real asyncua server on 127.0.0.1: a baseline
first, a change event naming what changed when the software version or the certificate
changes, and an unreachable server reported once, retried, never a crash."""

from __future__ import annotations

import asyncio
import hashlib

from isthmus.config.schema import OpcUaConfigIntegrityConfig, OpcUaServerConfig
from isthmus.connectors.opcua import OpcUaConfigWatch
from isthmus.model import Event, EventKind, SampleBatch, Severity
from tests.connectors.opcua.opcua_test_server import (
    Build,
    free_port,
    opcua_server,
    self_signed,
    set_build,
)

ASSET = "acme/lyon/packaging/line1/cell1/scada"


def watch_of(port: int, *, every: float = 3600.0) -> OpcUaConfigWatch:
    server = OpcUaServerConfig(name="line1-scada", endpoint=f"opc.tcp://127.0.0.1:{port}/",
                               asset="packaging/line1/cell1/scada",
                               config_integrity=OpcUaConfigIntegrityConfig(
                                   every=every, timeout=1.0))
    return OpcUaConfigWatch(server, ASSET, first_retry_s=0.05)


async def no_samples(batch: SampleBatch) -> None:
    raise AssertionError("the configuration watch emits no samples")


class Recorder:
    def __init__(self) -> None:
        self.events: list[Event] = []

    async def __call__(self, event: Event) -> None:
        self.events.append(event)

    def kinds(self) -> list[str]:
        return [str(e.data.get("integrity.kind", e.data.get("state"))) for e in self.events]


async def test_first_reading_is_a_baseline_of_build_info_and_certificate() -> None:
    port, certificate = free_port(), self_signed("line1-scada")
    watch, seen = watch_of(port), Recorder()
    async with opcua_server(port, certificate=certificate):
        assert await watch.check(seen)
    (event,) = seen.events
    assert (event.kind, event.severity, event.asset) == (EventKind.INTEGRITY, Severity.INFO,
                                                         ASSET)
    objects = event.data["objects"]
    assert event.data["integrity.kind"] == "config_baseline"
    assert event.data["device"] == "line1-scada"
    assert objects["software_version"] == "2.3.1"
    assert objects["certificate_sha256"] == hashlib.sha256(certificate).hexdigest()
    assert objects["certificate_subject"] == "CN=line1-scada"
    assert event.data["fingerprint"] == watch.history[0].digest


async def test_an_unchanged_server_raises_nothing_more() -> None:
    port, seen = free_port(), Recorder()
    watch = watch_of(port)
    async with opcua_server(port, certificate=self_signed("line1-scada")):
        assert await watch.check(seen)
        assert await watch.check(seen)
    assert seen.kinds() == ["config_baseline"]


async def test_a_new_software_version_is_a_change_naming_it() -> None:
    port, seen = free_port(), Recorder()
    watch = watch_of(port)
    async with opcua_server(port, certificate=self_signed("line1-scada")) as server:
        await watch.check(seen)
        await set_build(server, Build(software_version="2.4.0-patched", build_number="502"))
        await watch.check(seen)
    assert seen.kinds() == ["config_baseline", "config_change"]
    change = seen.events[1]
    assert change.severity == Severity.HIGH
    assert change.data["changed"] == {"build_number": ["481", "502"],
                                      "software_version": ["2.3.1", "2.4.0-patched"]}
    assert change.attack_techniques == ("T0839",)
    assert "software_version '2.3.1' → '2.4.0-patched'" in change.message
    assert change.data["previous_fingerprint"] == seen.events[0].data["fingerprint"]


async def test_a_restart_with_another_certificate_is_a_change_naming_it() -> None:
    port, seen = free_port(), Recorder()
    watch = watch_of(port)
    first, second = self_signed("line1-scada"), self_signed("impostor", days=30)
    async with opcua_server(port, certificate=first):
        await watch.check(seen)
    async with opcua_server(port, certificate=second):
        await watch.check(seen)
    assert seen.kinds() == ["config_baseline", "config_change"]
    changed = seen.events[1].data["changed"]
    assert sorted(changed) == ["certificate_not_after", "certificate_sha256",
                               "certificate_subject"]
    assert changed["certificate_sha256"] == [hashlib.sha256(first).hexdigest(),
                                             hashlib.sha256(second).hexdigest()]
    assert changed["certificate_subject"] == ["CN=line1-scada", "CN=impostor"]
    assert seen.events[1].attack_techniques == ("T0830",)


async def test_an_unreachable_server_is_one_event_then_retried_until_it_answers() -> None:
    port, seen = free_port(), Recorder()
    watch = watch_of(port, every=0.5)  # the backoff's cap
    task = asyncio.create_task(watch.run(no_samples, seen))
    try:
        while watch.health().failures < 3:  # several retries, backing off
            await asyncio.sleep(0.05)
        assert not task.done()
        assert seen.kinds() == ["config_check_failed"]
        assert seen.events[0].kind == EventKind.SYSTEM
        assert f"127.0.0.1:{port}" in seen.events[0].message
        async with opcua_server(port, certificate=self_signed("line1-scada")):
            while not watch.health().connected:
                await asyncio.sleep(0.05)
            task.cancel()  # while the server is still up: its stop would be a new outage
            await asyncio.gather(task, return_exceptions=True)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert seen.kinds() == ["config_check_failed", "config_check_recovered", "config_baseline"]
