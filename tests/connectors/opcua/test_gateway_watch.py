"""The gateway runs the OPC UA configuration watch as a supervised task: the baseline and
changes land in the historian's event log, and a change made while the gateway was stopped
is found at its next start (from the last stored fingerprint)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from isthmus.config.schema import SiteConfig
from isthmus.gateway import Gateway
from isthmus.historian import Historian, open_historian
from isthmus.model import Event, now_ns
from tests.connectors.opcua.opcua_test_server import Build, free_port, opcua_server, self_signed


def site_watching(port: int) -> SiteConfig:
    return SiteConfig.model_validate({
        "enterprise": "acme", "site": "lyon",
        "opcua_servers": [{"name": "line1-scada", "endpoint": f"opc.tcp://127.0.0.1:{port}/",
                           "asset": "packaging/line1/cell1/scada",
                           "config_integrity": {"every": 3600, "timeout": 2}}]})


def config_events(historian: Historian) -> list[Event]:
    return sorted((e for e in historian.events(0, now_ns() + 1, kind="integrity")
                   if str(e.data.get("integrity.kind", "")).startswith("config_")),
                  key=lambda e: e.ts)


async def run_until_events(site: SiteConfig, historian: Historian, data_dir: Path,
                           count: int) -> None:
    """Run the gateway until `count` configuration events are stored, then stop it."""
    stop = asyncio.Event()
    run = asyncio.create_task(Gateway(site, historian, data_dir=data_dir).run(stop))
    while len(await asyncio.to_thread(config_events, historian)) < count and not run.done():
        await asyncio.sleep(0.1)
    stop.set()
    await run


async def test_gateway_stores_baseline_then_a_change_made_while_stopped(tmp_path: Path) -> None:
    port, certificate = free_port(), self_signed("line1-scada")
    site = site_watching(port)
    historian = open_historian(f"sqlite:///{tmp_path / 'h.db'}")
    try:
        async with opcua_server(port, certificate=certificate):
            await run_until_events(site, historian, tmp_path, 1)
        async with opcua_server(port, build=Build(software_version="3.0"),
                                certificate=certificate):
            await run_until_events(site, historian, tmp_path, 2)
        events = config_events(historian)
    finally:
        historian.close()
    assert [e.data["integrity.kind"] for e in events] == ["config_baseline", "config_change"]
    baseline, change = events
    assert baseline.asset == "acme/lyon/packaging/line1/cell1/scada"
    assert change.data["changed"] == {"software_version": ["2.3.1", "3.0"]}
    assert "previous run" in change.message
