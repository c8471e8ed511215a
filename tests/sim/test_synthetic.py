"""The synthetic load-test plant: size, type mix, gaps, and every layout served correctly."""

from __future__ import annotations

import itertools
from collections import Counter

import pytest
from pymodbus.client import AsyncModbusTcpClient

from isthmus.config.schema import RegisterTable
from isthmus.sim import Plant, SimulatorServer, synthetic_site
from tests.sim.conftest import free_port

DT = AsyncModbusTcpClient.DATATYPE


def test_default_is_5000_tags_over_50_devices() -> None:
    site = synthetic_site()
    assert len(site.devices) == 50
    assert len(site.tags()) == 5000
    assert len({(d.host, d.port) for d in site.devices}) == 50
    assert site.devices[49].host == "127.0.20.50"


def test_register_map_mixes_types_orders_and_tables() -> None:
    site = synthetic_site(devices=1)
    points = site.unit_points(site.devices[0], site.devices[0].units[0]).values()
    layouts = Counter((p.table.value, p.type.value, p.word_order.value) for p in points)
    assert {t for _, t, _ in layouts} == {"uint16", "int16", "uint32", "int32", "float32",
                                          "bool"}
    assert {("holding_register", "float32", "big"),
            ("holding_register", "float32", "little")} <= set(layouts)
    assert {t for t, _, _ in layouts} == {table.value for table in RegisterTable}


def test_register_map_leaves_small_gaps() -> None:
    site = synthetic_site(devices=1)
    points = site.unit_points(site.devices[0], site.devices[0].units[0]).values()
    holding = sorted((p.address, p.register_count) for p in points
                     if p.table == RegisterTable.HOLDING_REGISTER)
    gaps = [b[0] - (a[0] + a[1]) for a, b in itertools.pairwise(holding)]
    assert set(gaps) == {0, 1}


def test_units_per_device_must_divide_the_tags() -> None:
    with pytest.raises(ValueError, match="split evenly"):
        synthetic_site(devices=1, tags_per_device=10, units_per_device=3)


def test_plant_builds_quickly_enough_to_use_and_walks_inside_ranges() -> None:
    plant = Plant(synthetic_site(devices=5, units_per_device=2, tags_per_device=100), seed=1)
    for _ in range(50):
        plant.step(30.0)
    for unit in plant.units():
        model = unit.model
        assert (unit.published >= model.low).all() and (unit.published <= model.high).all()


async def test_every_layout_round_trips_through_an_independent_client() -> None:
    host = "127.0.72.1"
    site = synthetic_site(devices=1, tags_per_device=60, host_base="127.0.72.",
                          port=free_port(host))
    plant = Plant(site, seed=11)
    plant.step(100.0)
    device, unit = site.devices[0], plant.unit("dev-001", 1)
    points = site.unit_points(device, device.units[0])
    client = AsyncModbusTcpClient(host, port=device.port, timeout=2, retries=0)
    async with SimulatorServer(plant):
        assert await client.connect()
        try:
            for i, (name, p) in enumerate(points.items()):
                got = await _read(client, p.table, p.address, p.type.value, p.word_order.value)
                want = unit.published[i]
                assert got * p.scale + p.offset == pytest.approx(
                    want, rel=1e-6, abs=p.scale / 2 + 1e-9), name
        finally:
            client.close()


async def _read(client: AsyncModbusTcpClient, table: RegisterTable, address: int,
                data_type: str, word_order: str) -> float:
    if table == RegisterTable.COIL:
        return float((await client.read_coils(address, count=1)).bits[0])
    if table == RegisterTable.DISCRETE_INPUT:
        return float((await client.read_discrete_inputs(address, count=1)).bits[0])
    words = 2 if data_type in ("float32", "int32", "uint32") else 1
    read = (client.read_holding_registers if table == RegisterTable.HOLDING_REGISTER
            else client.read_input_registers)
    reply = await read(address, count=words)
    assert not reply.isError(), f"{table.value} {address}: {reply}"
    value = client.convert_from_registers(reply.registers, DT[data_type.upper()],
                                          word_order="little" if word_order == "little"
                                          else "big")
    assert isinstance(value, int | float)
    return float(value)
