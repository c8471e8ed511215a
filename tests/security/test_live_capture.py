"""Real traffic: the plant simulator polled by pymodbus over loopback, captured with an
AF_PACKET socket, written with our pcap writer, read back by the monitor."""

from __future__ import annotations

import asyncio
from pathlib import Path

from pymodbus.client import AsyncModbusTcpClient

from isthmus.config.schema import SiteConfig
from isthmus.security.capture import LINKTYPE_ETHERNET
from isthmus.sim import Plant, SimulatorServer
from tests.security.loopback import RawCapture, plant_on, to_or_from
from tests.security.traffic import modbus_fields, monitor, write_pcap

HOST_BASE = "127.0.77."


async def _poll(site: SiteConfig) -> None:
    plc = next(d for d in site.devices if d.name == "line1-plc")
    client = AsyncModbusTcpClient(plc.host, port=plc.port, timeout=2, retries=0)
    assert await client.connect()
    try:
        for _ in range(3):
            await client.read_input_registers(0, count=2, device_id=1)      # FC 4
            await client.read_coils(0, count=1, device_id=1)                # FC 1
            await client.read_discrete_inputs(0, count=1, device_id=1)      # FC 2
            await client.read_holding_registers(10, count=2, device_id=2)   # FC 3
    finally:
        client.close()
    await asyncio.sleep(0.2)                   # let the FIN exchange reach the capture


async def test_monitor_sees_the_function_codes_and_units_of_real_polling(
        tmp_path: Path) -> None:
    site = plant_on(HOST_BASE)
    plant = Plant(site, seed=1)
    with RawCapture(to_or_from(HOST_BASE)) as capture:
        async with SimulatorServer(plant):
            await _poll(site)
    assert capture.frames, "nothing captured on lo"
    path = write_pcap(tmp_path / "live.pcap", capture.frames, linktype=LINKTYPE_ETHERNET)
    events, summary = monitor(path)
    seen = {(f["function_code"], f["unit_id"], f["direction"]) for f in modbus_fields(events)}
    assert seen == {(fc, unit, d) for fc, unit in ((4, 1), (1, 1), (2, 1), (3, 2))
                    for d in ("request", "response")}
    assert summary.functions["modbus/read_input_registers/response"] == 3
    assert summary.anomalies == 0
    roles = {h["ip"]: h["role"] for h in summary.hosts}
    assert roles[f"{HOST_BASE}1"] == "plc"
    assert "hmi" in roles.values()
