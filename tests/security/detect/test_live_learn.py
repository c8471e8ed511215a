"""Learn, then protect, on real traffic: the plant simulator polled by pymodbus over
loopback, captured with an AF_PACKET socket (real time stamps), read back by the monitor
with the detector."""

from __future__ import annotations

import asyncio
from pathlib import Path

from pymodbus.client import AsyncModbusTcpClient

from isthmus.config.schema import SiteConfig
from isthmus.security.detect import Baseline, Detector
from isthmus.sim import Plant, SimulatorServer
from tests.security.detect.scenarios import fired, run
from tests.security.loopback import RawCapture, plant_on, to_or_from

PREFIX = "127.0.78."
INTRUDER = "127.0.66.6"


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
    with RawCapture(to_or_from(PREFIX)) as capture:
        async with SimulatorServer(Plant(site, seed=1)):
            await _session(plc.host, plc.port, polls=30, setpoint=9999 if attack else 150)
            if attack:
                await _session(plc.host, plc.port, polls=2, setpoint=1, source=INTRUDER)
        await asyncio.sleep(0.2)
    assert capture.frames, "nothing captured on lo"
    return capture.write(path)


async def test_learn_on_clean_traffic_then_protect_against_an_attack(tmp_path: Path) -> None:
    site = plant_on(PREFIX)
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
