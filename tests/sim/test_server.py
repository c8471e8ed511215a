"""The simulator over real sockets, checked with an independent Modbus client (pymodbus)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import AsyncIterator

import pytest
from pymodbus.client import AsyncModbusTcpClient
from pymodbus.exceptions import ModbusIOException

from isthmus.config.schema import SiteConfig
from isthmus.sim import EndpointBindError, Plant, SimulatorServer, parse_scenario
from isthmus.sim.models import FillerState

T = "acme/lyon/"
DT = AsyncModbusTcpClient.DATATYPE


@contextlib.asynccontextmanager
async def serving(plant: Plant) -> AsyncIterator[SimulatorServer]:
    async with SimulatorServer(plant) as server:
        yield server


@contextlib.asynccontextmanager
async def client_of(site: SiteConfig, device: str,
                    timeout: float = 2.0) -> AsyncIterator[AsyncModbusTcpClient]:
    spec = next(d for d in site.devices if d.name == device)
    client = AsyncModbusTcpClient(spec.host, port=spec.port, timeout=timeout, retries=0,
                                  reconnect_delay=0)
    assert await client.connect(), f"cannot connect to {spec.host}:{spec.port}"
    try:
        yield client
    finally:
        client.close()


async def test_every_read_function_serves_the_plants_values(served_site: SiteConfig) -> None:
    plant = Plant(served_site, seed=5)
    plant.step(30.0)
    async with serving(plant), client_of(served_site, "line1-plc") as client:
        speed = await client.read_input_registers(0, count=2, device_id=1)        # FC 4
        running = await client.read_coils(0, count=1, device_id=1)                 # FC 1
        fault = await client.read_discrete_inputs(0, count=1, device_id=1)         # FC 2
        weight = await client.read_holding_registers(10, count=2, device_id=2)     # FC 3
    motor = T + "packaging/line1/conveyor/motor/"
    assert client.convert_from_registers(speed.registers, DT.FLOAT32) == pytest.approx(
        plant.value(motor + "speed"), rel=1e-6)
    assert running.bits[0] is bool(plant.value(motor + "running"))
    assert fault.bits[0] is bool(plant.value(motor + "fault"))
    assert client.convert_from_registers(weight.registers, DT.FLOAT32) == pytest.approx(
        plant.value(T + "packaging/line1/filler/filler/fill_weight"), rel=1e-6)


async def test_little_word_order_and_scaled_ints_decode_independently(
        served_site: SiteConfig) -> None:
    plant = Plant(served_site, seed=5)
    plant.step(3600.0)
    meter = T + "utilities/power/main/meter/"
    async with serving(plant), client_of(served_site, "energy-meter") as client:
        head = await client.read_holding_registers(0, count=4, device_id=1)
        power = await client.read_holding_registers(10, count=6, device_id=1)
        energy = await client.read_holding_registers(20, count=2, device_id=1)
    pf = client.convert_from_registers(head.registers[3:4], DT.INT16) * 0.001
    assert pf == pytest.approx(plant.value(meter + "power_factor"), abs=0.0006)
    kw = client.convert_from_registers(power.registers[0:2], DT.FLOAT32, word_order="little")
    assert kw == pytest.approx(plant.value(meter + "kw"), rel=1e-6)
    kvar = client.convert_from_registers(power.registers[2:4], DT.INT32, word_order="little")
    assert kvar * 0.01 == pytest.approx(plant.value(meter + "kvar"), abs=0.006)
    peak = client.convert_from_registers(power.registers[4:6], DT.FLOAT32)
    assert peak == pytest.approx(plant.value(meter + "peak_kw"), rel=1e-6)
    kwh = client.convert_from_registers(energy.registers, DT.UINT32, word_order="little")
    assert kwh * 0.1 == pytest.approx(plant.value(meter + "kwh"), abs=0.06)


async def test_read_across_an_undefined_address_is_illegal_data_address(
        served_site: SiteConfig) -> None:
    async with serving(Plant(served_site)), client_of(served_site, "energy-meter") as client:
        spanning = await client.read_holding_registers(0, count=12, device_id=1)
        past_end = await client.read_holding_registers(20, count=3, device_id=1)
        inside = await client.read_holding_registers(10, count=6, device_id=1)
    assert spanning.isError() and spanning.exception_code == 2
    assert past_end.isError() and past_end.exception_code == 2
    assert not inside.isError()


async def test_unknown_unit_id_is_gateway_target_failed(served_site: SiteConfig) -> None:
    async with serving(Plant(served_site)), client_of(served_site, "line1-plc") as client:
        reply = await client.read_holding_registers(0, count=1, device_id=9)
    assert reply.isError() and reply.exception_code == 0x0B


async def test_register_count_over_125_is_illegal_data_value(served_site: SiteConfig) -> None:
    device = served_site.devices[0]            # pymodbus refuses to send this: raw bytes
    async with serving(Plant(served_site)):
        reader, writer = await asyncio.open_connection(device.host, device.port)
        writer.write(bytes.fromhex("0007 0000 0006 02 03 0000 007e"))
        reply = await reader.readexactly(9)
        writer.close()
        await writer.wait_closed()
    assert reply == bytes.fromhex("0007 0000 0003 02 83 03")


async def test_writing_the_conveyor_coil_stops_the_filler(served_site: SiteConfig) -> None:
    plant = Plant(served_site, seed=2)
    plant.step(60.0)
    async with serving(plant), client_of(served_site, "line1-plc") as client:
        assert not (await client.write_coil(0, False, device_id=1)).isError()       # FC 5
        plant.step(120.0)
        running = await client.read_coils(0, count=1, device_id=1)
        state = await client.read_holding_registers(16, count=1, device_id=2)
    assert running.bits[0] is False
    assert plant.value(T + "packaging/line1/conveyor/motor/speed") < 1.0
    assert state.registers == [FillerState.IDLE]


async def test_writing_the_setpoint_moves_the_fill_weight(served_site: SiteConfig) -> None:
    plant = Plant(served_site, seed=2)
    async with serving(plant), client_of(served_site, "line1-plc") as client:
        assert not (await client.write_register(0, 4500, device_id=2)).isError()     # FC 6
        assert not (await client.write_registers(0, [4500, 80], device_id=2)).isError()  # 16
        plant.step(600.0)
        setpoint = await client.read_holding_registers(0, count=2, device_id=2)
    assert setpoint.registers == [4500, 80]
    weight = plant.value(T + "packaging/line1/filler/filler/fill_weight")
    assert 430.0 < weight < 470.0


async def test_write_multiple_coils_closes_both_tank_valves(served_site: SiteConfig) -> None:
    plant = Plant(served_site, seed=2)
    async with serving(plant), client_of(served_site, "utilities-plc") as client:
        assert not (await client.write_coils(0, [False, False], device_id=2)).isError()  # 15
        level = plant.value(T + "utilities/water/storage/tank/level")
        plant.step(3600.0)
        valves = await client.read_coils(0, count=2, device_id=2)
    assert valves.bits[:2] == [False, False]
    assert plant.value(T + "utilities/water/storage/tank/level") == pytest.approx(level)


async def test_write_to_an_input_only_table_address_is_refused(
        served_site: SiteConfig) -> None:
    async with serving(Plant(served_site)), client_of(served_site, "line1-plc") as client:
        reply = await client.write_register(3, 1, device_id=1)     # holding 3: undefined
    assert reply.isError() and reply.exception_code == 2


async def test_silent_unit_times_out_while_its_neighbour_answers(
        served_site: SiteConfig) -> None:
    scenario = parse_scenario("""
        name: quiet tank
        faults: [{kind: comm_loss, target: utilities/water/storage/tank, start: 0}]
    """)
    plant = Plant(served_site, scenario=scenario)
    async with serving(plant), client_of(served_site, "utilities-plc", timeout=0.3) as client:
        pump = await client.read_input_registers(0, count=2, device_id=1)
        with pytest.raises(ModbusIOException):
            await client.read_input_registers(0, count=2, device_id=2)
    assert not pump.isError()


async def test_disconnect_fault_closes_and_reopens_the_listener(
        served_site: SiteConfig) -> None:
    scenario = parse_scenario("""
        name: meter link down
        faults: [{kind: comm_loss, target: energy-meter, mode: disconnect, start: 10s,
                  duration: 20s}]
    """)
    meter = next(d for d in served_site.devices if d.name == "energy-meter")
    address = (meter.host, meter.port)
    async with SimulatorServer(Plant(served_site, scenario=scenario), tick_s=5.0) as server:
        socket.create_connection(address, timeout=1).close()
        await server.tick()
        await server.tick()                                    # t = 10 s: link down
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(address, timeout=1).close()
        for _ in range(4):
            await server.tick()                                # t = 30 s: back
        socket.create_connection(address, timeout=1).close()


async def test_bind_failure_names_the_endpoint(served_site: SiteConfig) -> None:
    device = served_site.devices[0]
    with socket.socket() as squatter:
        squatter.bind((device.host, device.port))
        squatter.listen()
        server = SimulatorServer(Plant(served_site))
        with pytest.raises(EndpointBindError, match=f"{device.host}:{device.port}"):
            await server.__aenter__()


async def test_run_until_ticks_the_plant_until_stopped(served_site: SiteConfig) -> None:
    plant = Plant(served_site)
    stop = asyncio.Event()
    async with SimulatorServer(plant, speed=100.0, tick_s=0.01) as server:
        runner = asyncio.create_task(server.run_until(stop))
        while server.stats.ticks < 3:
            await asyncio.sleep(0.01)
        stop.set()
        await runner
    assert plant.sim_time_s == pytest.approx(server.stats.ticks * 1.0)


async def test_a_non_modbus_client_is_dropped_not_fatal(served_site: SiteConfig,
                                                        caplog: pytest.LogCaptureFixture
                                                        ) -> None:
    device = served_site.devices[0]
    async with serving(Plant(served_site)):
        reader, writer = await asyncio.open_connection(device.host, device.port)
        with caplog.at_level(logging.INFO):
            writer.write(b"GET / HTTP/1.1\r\n\r\n")
            assert await reader.read() == b""
        writer.close()
        await writer.wait_closed()
        async with client_of(served_site, device.name) as client:
            assert not (await client.read_coils(0, count=1, device_id=1)).isError()
    assert "not a Modbus/TCP frame" in caplog.text
