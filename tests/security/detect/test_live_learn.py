"""Learn, then protect, on real traffic: the plant simulator polled by pymodbus over
loopback, captured with an AF_PACKET socket (real time stamps), read back by the monitor
with the detector."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from pathlib import Path

import pytest
from pymodbus.client import AsyncModbusTcpClient

from isthmus.config import load_site
from isthmus.config.schema import SiteConfig
from isthmus.security.capture import PcapWriter
from isthmus.security.detect import Baseline, Detector
from isthmus.sim import Plant, SimulatorServer
from tests.security.detect.scenarios import fired, run

EXAMPLE = Path(__file__).parents[3] / "examples" / "packaging-plant.yaml"
PREFIX = "127.0.78."
INTRUDER = "127.0.66.6"
ETH_P_ALL, PACKET_OUTGOING = 0x0003, 4


def _site() -> SiteConfig:
    data = load_site(EXAMPLE).model_dump(mode="json")
    for i, device in enumerate(data["devices"], start=1):
        device["host"] = f"{PREFIX}{i}"
        with socket.socket() as probe:
            probe.bind((device["host"], 0))
            device["port"] = probe.getsockname()[1]
    return SiteConfig.model_validate(data)


class TimedCapture:
    """(time stamp, frame) of every frame on `lo` to or from 127.0.78.x, once each."""

    def __init__(self) -> None:
        try:
            self._sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW,
                                       socket.htons(ETH_P_ALL))
            self._sock.bind(("lo", 0))
        except OSError as exc:
            pytest.skip(f"cannot open an AF_PACKET socket on lo (needs CAP_NET_RAW): {exc}")
        self._sock.settimeout(0.1)
        self.frames: list[tuple[int, bytes]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._prefix = socket.inet_aton(PREFIX + "0")[:3]

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                data, address = self._sock.recvfrom(65535)
            except TimeoutError:
                continue
            if address[2] != PACKET_OUTGOING and len(data) >= 34 and (
                    data[26:29] == self._prefix or data[30:33] == self._prefix):
                self.frames.append((time.time_ns(), data))

    def __enter__(self) -> TimedCapture:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sock.close()

    def write(self, path: Path) -> Path:
        with path.open("wb") as stream:
            writer = PcapWriter(stream)
            for ts, frame in self.frames:
                writer.write(ts, frame)
        return path


async def _session(host: str, port: int, *, polls: int, setpoint: int,
                   source: str | None = None) -> None:
    client = AsyncModbusTcpClient(host, port=port, timeout=2, retries=0,
                                  source_address=(source, 0) if source else None)
    assert await client.connect()
    try:
        for i in range(polls):
            await client.read_input_registers(0, count=2, device_id=1)
            if i == polls // 2:
                await client.write_register(10, setpoint, device_id=1)
            await asyncio.sleep(0.05)
    finally:
        client.close()


async def _traffic(site: SiteConfig, path: Path, *, attack: bool) -> Path:
    plc = next(d for d in site.devices if d.name == "line1-plc")
    with TimedCapture() as capture:
        async with SimulatorServer(Plant(site, seed=1)):
            await _session(plc.host, plc.port, polls=30, setpoint=9999 if attack else 150)
            if attack:
                await _session(plc.host, plc.port, polls=2, setpoint=1, source=INTRUDER)
        await asyncio.sleep(0.2)
    assert capture.frames, "nothing captured on lo"
    return capture.write(path)


async def test_learn_on_clean_traffic_then_protect_against_an_attack(tmp_path: Path) -> None:
    site = _site()
    clean = await _traffic(site, tmp_path / "clean.pcap", attack=False)
    learner = Detector(learn=True)
    learned_alerts, _ = run(clean, learner)
    assert learned_alerts == []
    learner.learned().save(tmp_path / "baseline.json")
    baseline = Baseline.load(tmp_path / "baseline.json")
    (link,) = baseline.links.values()
    assert link.wrote and link.write_values == {(1, 10): (150.0, 150.0)}
    assert [(p.function, p.address) for p in link.polls] == [("read_input_registers", 0)]

    attack = await _traffic(site, tmp_path / "attack.pcap", attack=True)
    alerts, _ = run(attack, Detector(baseline=baseline))
    assert fired(alerts) == {"ISTH-BL-001", "ISTH-BL-003", "ISTH-BL-005", "ISTH-BL-006",
                             "ISTH-BL-008"}
    (setpoint,) = [a for a in alerts if a.rule_id == "ISTH-BL-008"]
    assert setpoint.detail["value"] == 9999 and setpoint.server == f"{PREFIX}1"
    assert {a.client for a in alerts if a.rule_id == "ISTH-BL-006"} == {INTRUDER}
