"""Cyber-physical correlation: writes named by the site's tag map, decoded with the tag's
type, scale and word order, with the process value before and after from the historian."""

from __future__ import annotations

import asyncio
import struct
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pymodbus.client import AsyncModbusTcpClient

from isthmus.config.schema import SiteConfig
from isthmus.gateway import Gateway
from isthmus.historian import open_historian
from isthmus.model import SampleBatch, Severity
from isthmus.security.correlate import Correlator, correlation_fields
from isthmus.security.dissectors.modbus.session import ModbusEvent
from isthmus.security.ecs import to_ecs
from isthmus.security.events import FlowKey
from isthmus.sim import Plant, SimulatorServer
from tests.security.loopback import LiveMonitor, plant_on

S = 1_000_000_000
T0 = 1_764_000_000 * S
FILLER = "acme/lyon/packaging/line1/filler/filler/"


def _write(site: SiteConfig, fc: int, address: int, values: list[int], *, unit: int = 2,
           device: int = 0, ts: int = T0) -> ModbusEvent:
    d = site.devices[device]
    return ModbusEvent(ts, FlowKey("10.0.0.9", 50000, d.host, d.port), "modbus", "request",
                       "write", Severity.LOW, 12, unit_id=unit, function_code=fc,
                       address=address, quantity=len(values), values=values)


@pytest.fixture(scope="module")
def site() -> SiteConfig:
    return plant_on("127.0.89.")


def test_single_register_write_names_the_tag_and_scales_the_value(site: SiteConfig) -> None:
    [hit] = Correlator(site).correlate(_write(site, 6, 0, [4321]))
    assert hit.tag == FILLER + "setpoint"
    assert hit.value_written == pytest.approx(432.1)          # scale 0.1 g
    assert hit.unit == "g"


@given(value=st.floats(0, 1000, width=32))
def test_float32_write_is_decoded_in_the_tags_word_order(site: SiteConfig,
                                                         value: float) -> None:
    words = list(struct.unpack(">HH", struct.pack(">f", value)))    # big word order
    [hit] = Correlator(site).correlate(_write(site, 16, 10, words))
    assert hit.tag == FILLER + "fill_weight"
    assert hit.value_written == value


def test_a_multi_register_write_names_every_tag_it_covers(site: SiteConfig) -> None:
    hits = Correlator(site).correlate(_write(site, 16, 0, [5000, 25]))
    assert [(h.tag, h.value_written) for h in hits] == [
        (FILLER + "setpoint", pytest.approx(500.0)), (FILLER + "tolerance", pytest.approx(2.5))]
    fields = correlation_fields(hits)
    assert fields["tag"] == FILLER + "setpoint" and len(fields["writes"]) == 2


def test_a_write_of_half_a_float_names_the_tag_without_a_value(site: SiteConfig) -> None:
    [hit] = Correlator(site).correlate(_write(site, 6, 11, [0x4000]))
    assert hit.tag == FILLER + "fill_weight"
    assert hit.value_written is None and hit.raw == (0x4000,)


def test_coil_writes_and_misses(site: SiteConfig) -> None:
    correlator = Correlator(site)
    [coil] = correlator.correlate(_write(site, 5, 0, [1], unit=1))
    assert coil.tag == "acme/lyon/packaging/line1/conveyor/motor/running"
    assert coil.value_written == 1.0
    assert correlator.correlate(_write(site, 6, 0, [1], unit=9)) == []        # no such unit
    assert correlator.correlate(_write(site, 6, 200, [1])) == []              # no such address
    other_port = _write(site, 6, 0, [1])
    other_port.flow = FlowKey("10.0.0.9", 50000, site.devices[0].host, 1)
    assert correlator.correlate(other_port) == []


def test_before_and_after_come_from_the_historian(site: SiteConfig, tmp_path: Path) -> None:
    historian = open_historian(f"sqlite:///{tmp_path}/h.db")
    try:
        registry = historian.register_tags(site.tags())
        tid = registry.id_of(FILLER + "setpoint")
        historian.write(SampleBatch.of([tid] * 3, [T0 - 5 * S, T0 - S, T0 + 2 * S],
                                       [480.0, 500.0, 432.1]))
        [hit] = Correlator(site, history=historian).correlate(_write(site, 6, 0, [4321]))
    finally:
        historian.close()
    assert hit.before is not None and hit.before.value == 500.0
    assert hit.before.ts_ns == T0 - S
    assert hit.after is not None and hit.after.value == pytest.approx(432.1)


async def _gateway_sees_a_write(site: SiteConfig,
                                tmp_path: Path) -> list[dict[str, object]]:
    """Simulator + gateway writing a historian, a pymodbus write captured live; the
    `isthmus` part of the ECS document of every write the correlator names."""
    historian = open_historian(f"sqlite:///{tmp_path}/h.db")
    stop, sim_stop = asyncio.Event(), asyncio.Event()
    plc = site.devices[0]
    hosts = " or ".join(f"host {d.host}" for d in site.devices)
    try:
        async with SimulatorServer(Plant(site, seed=1)) as server:
            sim = asyncio.create_task(server.run_until(sim_stop))
            gateway = asyncio.create_task(Gateway(site, historian, data_dir=tmp_path).run(stop))
            with LiveMonitor(bpf=hosts) as live:
                await asyncio.sleep(2.5)                   # the gateway records the setpoint
                client = AsyncModbusTcpClient(plc.host, port=plc.port, timeout=2, retries=0)
                assert await client.connect()
                await client.write_register(0, 6123, device_id=2)   # 612.3 g
                client.close()
                await asyncio.sleep(2.5)                   # … and its new value
            stop.set()
            await gateway
            sim_stop.set()
            await sim
        correlator = Correlator(site, history=historian)
        found = []
        for event in live.events:
            if isinstance(event, ModbusEvent) and (hits := correlator.correlate(event)):
                doc = to_ecs(event)
                doc["isthmus"] = correlation_fields(hits)
                found.append(doc["isthmus"])
        return found
    finally:
        historian.close()


async def test_end_to_end_a_write_gets_tag_value_and_process_before_and_after(
        tmp_path: Path) -> None:
    site = plant_on("127.0.89.")
    [doc] = await _gateway_sees_a_write(site, tmp_path)
    assert doc["tag"] == FILLER + "setpoint"
    assert doc["value_written"] == pytest.approx(612.3)
    before, after = doc["before"], doc["after"]
    assert isinstance(before, dict) and isinstance(after, dict)
    assert before["value"] == pytest.approx(500.0)     # the filler model's initial setpoint
    assert after["value"] == pytest.approx(612.3)
    assert before["timestamp"] < after["timestamp"]
