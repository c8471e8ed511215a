"""The watch's logic over an in-memory reader: one failure event per outage, a recovery
event, and a stored baseline restored so that the first reading can already be a change."""

from __future__ import annotations

import pytest

from isthmus.config.schema import OpcUaServerConfig
from isthmus.connectors.opcua import (
    OpcUaConfigWatch,
    OpcUaConnectionError,
    ServerIdentity,
    fingerprint_of,
)
from isthmus.model import Event

BUILD = {"product_uri": "urn:acme:plc", "software_version": "1.0"}
SERVER = OpcUaServerConfig(name="scada", endpoint="opc.tcp://127.0.0.1:4840",
                           asset="a/b/c/d")


class ScriptedReader:
    """Answers each read with the next item: an identity, or an error to raise."""

    def __init__(self, *script: ServerIdentity | Exception) -> None:
        self.script = list(script)

    async def read_identity(self) -> ServerIdentity:
        item = self.script.pop(0)
        if isinstance(item, Exception):
            raise item
        return item


class Recorder(list[Event]):
    async def __call__(self, event: Event) -> None:
        self.append(event)


def kinds(events: list[Event]) -> list[str]:
    return [str(e.data.get("integrity.kind", e.data.get("state"))) for e in events]


async def test_one_failure_event_per_outage_and_one_on_recovery() -> None:
    down = OpcUaConnectionError("OPC UA server opc.tcp://127.0.0.1:4840: refused")
    identity = ServerIdentity(BUILD)
    watch = OpcUaConfigWatch(SERVER, "acme/lyon/a/b/c/d", reader=ScriptedReader(
        down, down, down, identity, identity, down, identity))
    seen = Recorder()
    results = [await watch.check(seen) for _ in range(7)]
    assert results == [False, False, False, True, True, False, True]
    assert kinds(seen) == ["config_check_failed", "config_check_recovered", "config_baseline",
                           "config_check_failed", "config_check_recovered"]
    assert watch.health().failures == 4
    assert "refused" in seen[0].message


async def test_a_restored_baseline_makes_the_first_reading_a_change() -> None:
    stored = fingerprint_of(ServerIdentity(BUILD))
    now = ServerIdentity({**BUILD, "software_version": "1.1"})
    watch = OpcUaConfigWatch(SERVER, "acme/lyon/a/b/c/d", reader=ScriptedReader(now),
                             baseline=stored)
    seen = Recorder()
    await watch.check(seen)
    assert kinds(seen) == ["config_change"]
    assert seen[0].data["changed"] == {"software_version": ["1.0", "1.1"]}
    assert "(since the gateway's previous run)" in seen[0].message


def test_a_server_without_config_integrity_is_refused() -> None:
    with pytest.raises(ValueError, match="opcua server scada: no config_integrity"):
        OpcUaConfigWatch(SERVER.model_copy(update={"config_integrity": None}), "x")
