"""Device configuration integrity end to end over Modbus/TCP sockets: the gateway reads
each watched device's identification (FC 43/14) and program checksum register, records a
baseline, and raises an integrity event in the historian when a scenario changes the
firmware revision or the program."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np

from isthmus.config.schema import ChecksumRegisterConfig, ConfigIntegrityConfig, Order, SiteConfig
from isthmus.connectors.modbus.adapter import ModbusClientAdapter
from isthmus.connectors.modbus.fingerprint import ConfigWatch, DeviceFingerprint, checksum_of
from isthmus.gateway import Gateway
from isthmus.historian import Historian, open_historian
from isthmus.model import Event, now_ns
from isthmus.sim import Plant, SimulatorServer
from isthmus.sim.program import base_checksum
from isthmus.sim.scenario import parse_scenario
from tests.sim.conftest import relocate
from tests.test_gateway import run_gateway

SPEED = 40.0
SCENARIO = """
name: e2e-config-change
faults:
  - kind: firmware_change
    target: line1-plc
    start: 160
    revision: 4.2.0-patched
  - kind: program_change
    target: line1-plc
    start: 320
    checksum: 3735928559
"""
WATCH = ConfigIntegrityConfig(every=1.0, device_id=True,
                              checksum_register=ChecksumRegisterConfig(address=900))


def watched(site: SiteConfig) -> SiteConfig:
    devices = [d.model_copy(update={"config_integrity": WATCH}) if d.name == "line1-plc"
               else d for d in site.devices]
    return site.model_copy(update={"devices": devices, "integrity": None})


def config_events(events: list[Event]) -> list[Event]:
    return sorted((e for e in events if str(e.data.get("integrity.kind", "")).startswith(
        "config_")), key=lambda e: e.ts)


async def test_firmware_and_program_changes_are_integrity_events(plant_site: SiteConfig,
                                                                 tmp_path: Path) -> None:
    site = watched(relocate(plant_site, "127.0.48."))
    historian = open_historian(f"sqlite:///{tmp_path / 'h.db'}")
    plant = Plant(site, seed=4, scenario=parse_scenario(SCENARIO))
    await run_gateway(site, historian, tmp_path, 320 / SPEED + 4, plant=plant, speed=SPEED,
                      tick_s=0.1)
    events = config_events(historian.events(0, now_ns() + 1, kind="integrity"))
    historian.close()
    kinds = [e.data["integrity.kind"] for e in events]
    assert kinds == ["config_baseline", "config_change", "config_change"], kinds
    baseline, firmware, program = events
    device = next(d for d in site.devices if d.name == "line1-plc")
    assert baseline.data["checksum"] == base_checksum(device)
    assert baseline.data["objects"]["product_code"] == "line1-plc"
    assert firmware.data["changed"] == {"revision": [baseline.data["objects"]["revision"],
                                                     "4.2.0-patched"]}
    assert firmware.attack_techniques == ("T0839",)
    assert program.data["changed"] == {"checksum": [base_checksum(device), 3735928559]}
    assert program.data["previous_fingerprint"] == firmware.data["fingerprint"]


async def run_for(site: SiteConfig, historian: Historian, data_dir: Path, scenario: str,
                  seconds: float) -> None:
    stop, sim_stop = asyncio.Event(), asyncio.Event()
    async with SimulatorServer(Plant(site, seed=4, scenario=parse_scenario(scenario))) as server:
        sim = asyncio.create_task(server.run_until(sim_stop))
        asyncio.get_running_loop().call_later(seconds, stop.set)
        await Gateway(site, historian, data_dir=data_dir).run(stop)
        sim_stop.set()
        await sim


async def test_a_change_made_while_the_gateway_was_stopped_is_found(
        plant_site: SiteConfig, tmp_path: Path) -> None:
    site = watched(relocate(plant_site, "127.0.50."))
    historian = open_historian(f"sqlite:///{tmp_path / 'h.db'}")
    await run_for(site, historian, tmp_path, "name: same\nfaults: []", 2.0)
    await run_for(site, historian, tmp_path, "name: same\nfaults: []", 2.0)
    flashed = "name: flashed\nfaults: [{kind: firmware_change, target: line1-plc, start: 0}]"
    await run_for(site, historian, tmp_path, flashed, 2.0)
    events = config_events(historian.events(0, now_ns() + 1, kind="integrity"))
    historian.close()
    assert [e.data["integrity.kind"] for e in events] == ["config_baseline", "config_change"]
    assert "previous run" in events[1].message
    assert events[1].data["changed"]["revision"][1] == "9.9.9-tampered"


async def test_adapter_reads_basic_and_regular_identification(plant_site: SiteConfig) -> None:
    site = watched(relocate(plant_site, "127.0.49."))
    device = next(d for d in site.devices if d.name == "line1-plc")
    async with SimulatorServer(Plant(site, seed=1)):
        adapter = ModbusClientAdapter(device.host, device.port, timeout=2.0)
        await adapter.connect()
        try:
            basic = await adapter.read_device_identification(1, read_code=1)
            regular = await adapter.read_device_identification(1, read_code=2)
            watch = ConfigWatch(device, "acme/lyon/x/y/z/w", "test")
            fingerprint = await watch.read(adapter)
        finally:
            await adapter.close()
    assert sorted(basic) == [0, 1, 2]
    assert sorted(regular) == [0, 1, 2, 3, 4, 5, 6]
    assert regular[1] == b"line1-plc"
    assert fingerprint.checksum == base_checksum(device)


def test_checksum_word_orders() -> None:
    words = np.array([0x1234, 0x5678], np.uint16)
    assert checksum_of(words, Order.BIG) == 0x12345678
    assert checksum_of(words, Order.LITTLE) == 0x56781234


def test_fingerprint_changes_name_each_field() -> None:
    before = DeviceFingerprint({"revision": "1.0", "vendor_name": "a"}, 7)
    after = DeviceFingerprint({"revision": "1.1", "vendor_name": "a"}, 8)
    assert after.changes(before) == {"revision": ["1.0", "1.1"], "checksum": [7, 8]}
    assert after.digest != before.digest
    assert DeviceFingerprint(dict(before.objects), 7).digest == before.digest
