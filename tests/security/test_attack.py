"""The attack-modbus scenario against a simulated plant on test-owned loopback hosts,
watched by the live monitor: the intruder's scan, identification and writes are seen
coming from 127.0.66.6, and the writes name the tags they hit."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from isthmus.cli.demo_watch import DemoWatch
from isthmus.config.schema import SiteConfig
from isthmus.historian import open_historian
from isthmus.historian.assets import open_asset_store
from isthmus.security.capture.live import LiveCaptureError
from isthmus.security.correlate import Correlator
from isthmus.security.dissectors.modbus.pdu import parse_response
from isthmus.security.dissectors.modbus.session import ModbusEvent
from isthmus.security.monitor import Monitor
from isthmus.sim import Plant, SimulatorServer
from isthmus.sim.attack import ATTACKS, INTRUDER, AttackError, run_attack
from isthmus.sim.identity import read_device_identification
from tests.security.loopback import LiveMonitor, plant_on

BASE = "127.0.87."
PLAN = replace(ATTACKS["attack-modbus"], units=range(0, 4), pause_s=0.05)


@dataclass
class Watched:
    site: SiteConfig
    steps: list[str]
    events: list[ModbusEvent]
    monitor: Monitor


async def _attack_watched() -> Watched:
    site = plant_on(BASE)
    hosts = " or ".join(f"host {d.host}" for d in site.devices)
    async with SimulatorServer(Plant(site, seed=2)):
        with LiveMonitor(bpf=hosts) as live:
            steps = await run_attack(site, PLAN)
            await asyncio.sleep(0.3)
    return Watched(site, [s.step for s in steps],
                   [e for e in live.events if isinstance(e, ModbusEvent)], live.monitor)


async def test_every_intruder_request_comes_from_its_address_and_all_steps_run() -> None:
    watched = await _attack_watched()
    steps, events = watched.steps, watched.events
    assert steps.count("identify") == 3 and steps.count("sweep") == 3 * 4
    assert steps[-2:] == ["write_setpoint", "force_coil"]
    requests = [e for e in events if e.direction == "request"]
    assert requests and {e.flow.src for e in requests} == {INTRUDER}
    swept = {(e.flow.dst, e.unit_id) for e in requests if e.function_code == 3}
    assert len(swept) == 3 * 4
    identify = [e for e in requests if e.function_code == 43]
    assert len(identify) == 3


async def test_writes_hit_the_setpoint_and_the_coil_with_decoded_values() -> None:
    watched = await _attack_watched()
    correlator = Correlator(watched.site)
    writes = {w.tag: w for e in watched.events for w in correlator.correlate(e)}
    setpoint = writes["acme/lyon/packaging/line1/filler/filler/setpoint"]
    assert setpoint.value_written == pytest.approx(1500.0)      # range 0–1000 g: out of range
    coil = writes["acme/lyon/packaging/line1/conveyor/motor/running"]
    assert coil.value_written == 0.0
    assert set(writes) == {setpoint.tag, coil.tag}


async def test_identification_answers_reach_the_inventory() -> None:
    watched = await _attack_watched()
    plc = watched.monitor.inventory.hosts[watched.site.devices[0].host]
    assert plc.identity["vendor"] == "Isthmus simulator"
    assert plc.identity["product_code"] == watched.site.devices[0].name


async def test_an_unreachable_plant_is_a_clear_attack_error() -> None:
    site = plant_on(BASE)                   # nothing served
    with pytest.raises(AttackError, match="cannot connect"):
        await run_attack(site, PLAN)


OBJECTS = {0: "Acme", 1: "AC-1", 2: "1.0", 3: "http://x", 4: "Prod", 5: "Model", 6: "App"}


@given(code=st.sampled_from([1, 2, 3]), first=st.integers(0, 255))
def test_device_identification_parses_with_the_monitors_dissector(code: int,
                                                                  first: int) -> None:
    reply = read_device_identification(bytes((0x2B, 0x0E, code, first)), OBJECTS)
    parsed = parse_response(0x2B, reply[1:], None)
    last = {1: 2, 2: 6, 3: 6}[code]
    start = first if first <= last else 0
    assert list(parsed.detail["objects"].values()) == [OBJECTS[i] for i in range(start,
                                                                                  last + 1)]


def test_individual_access_to_an_unknown_object_is_illegal_data_address() -> None:
    assert read_device_identification(bytes((0x2B, 0x0E, 4, 0x80)), OBJECTS) == b"\xab\x02"
    assert read_device_identification(bytes((0x2B, 0x0E, 4, 1)), OBJECTS)[-4:] == b"AC-1"


async def test_demo_watch_stores_security_events_and_assets(tmp_path: Path) -> None:
    site = plant_on(BASE)
    url = f"sqlite:///{tmp_path}/h.db"
    watch = DemoWatch(site, url, settle_s=0.2)
    try:
        watch.start()
    except LiveCaptureError as exc:
        pytest.skip(f"no live capture here: {exc}")
    async with SimulatorServer(Plant(site, seed=2)):
        await run_attack(site, PLAN)
        await asyncio.sleep(0.3)
    await asyncio.to_thread(watch.stop)
    historian = open_historian(url)
    try:
        events = historian.events(0, 2**62, kind="security")
    finally:
        historian.close()
    writes = {e.tag: e for e in events if e.tag}
    setpoint = writes["acme/lyon/packaging/line1/filler/filler/setpoint"]
    assert "T0855" in setpoint.attack_techniques and "127.0.66.6" in setpoint.message
    assert setpoint.data["isthmus"]["value_written"] == pytest.approx(1500.0)
    assert any("T0888" in e.attack_techniques for e in events)
    with open_asset_store(url) as store:
        assets = {a.id: a for a in store.assets()}
    assert assets["line1-plc"].vendor == "Isthmus simulator"
    assert assets[f"ip:{INTRUDER}"].origin == "discovered"
