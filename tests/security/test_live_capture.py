"""Real traffic: the plant simulator polled by pymodbus over loopback, captured with an
AF_PACKET socket, written with our pcap writer, read back by the monitor."""

from __future__ import annotations

import asyncio
import socket
import threading
from pathlib import Path

import pytest
from pymodbus.client import AsyncModbusTcpClient

from isthmus.config import load_site
from isthmus.config.schema import SiteConfig
from isthmus.security.capture import LINKTYPE_ETHERNET
from isthmus.sim import Plant, SimulatorServer
from tests.security.traffic import modbus_fields, monitor, write_pcap

EXAMPLE = Path(__file__).parents[2] / "examples" / "packaging-plant.yaml"
HOST_BASE = "127.0.77."
ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4


def _relocated() -> SiteConfig:
    data = load_site(EXAMPLE).model_dump(mode="json")
    for i, device in enumerate(data["devices"], start=1):
        device["host"] = f"{HOST_BASE}{i}"
        with socket.socket() as probe:
            probe.bind((device["host"], 0))
            device["port"] = probe.getsockname()[1]
    return SiteConfig.model_validate(data)


class LoopbackCapture:
    """Frames on `lo` to or from 127.0.77.x, captured in a thread, each once (the copy
    the kernel shows as outgoing is skipped, as libpcap does on loopback)."""

    def __init__(self) -> None:
        try:
            self._sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW,
                                       socket.htons(ETH_P_ALL))
            self._sock.bind(("lo", 0))
        except (PermissionError, OSError) as exc:
            pytest.skip(f"cannot open an AF_PACKET socket on lo (needs root or "
                        f"CAP_NET_RAW): {exc}")
        self._sock.settimeout(0.1)
        self.frames: list[bytes] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._prefix = socket.inet_aton(HOST_BASE + "0")[:3]

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                data, address = self._sock.recvfrom(65535)
            except TimeoutError:
                continue
            if address[2] == PACKET_OUTGOING or len(data) < 34:
                continue
            if data[26:29] == self._prefix or data[30:33] == self._prefix:
                self.frames.append(data)

    def __enter__(self) -> LoopbackCapture:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sock.close()


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
    site = _relocated()
    plant = Plant(site, seed=1)
    with LoopbackCapture() as capture:
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
