"""End to end through the real gateway: the simulator serves the plant over Modbus/TCP, a
scenario falsifies one transmitter of the redundant tank level pair, and the gateway's
sensor-integrity consumer raises an integrity event that lands in the historian."""

from __future__ import annotations

from pathlib import Path

from isthmus.config.schema import SiteConfig
from isthmus.historian import open_historian
from isthmus.integrity.sensors import IntegrityConfig
from isthmus.model import EventKind, now_ns
from isthmus.sim import Plant
from isthmus.sim.scenario import parse_scenario
from tests.sim.conftest import relocate
from tests.test_gateway import run_gateway

SPEED = 20.0                 # simulated seconds per wall second
BIAS_AT_SIM_S = 200          # 10 s of wall time: after the 6 s learning period
SCENARIO = f"""
name: e2e-false-data
faults:
  - kind: bias
    target: utilities/water/storage/tank/level_2
    start: {BIAS_AT_SIM_S}
    offset: 0.4
"""


def watched_site(site: SiteConfig) -> SiteConfig:
    integrity = IntegrityConfig.model_validate({
        "learn": {"first": 6},
        "sensors": {"tags": []},
        "relations": [{"kind": "redundant", "a": "utilities/water/storage/tank/level",
                       "b": "utilities/water/storage/tank/level_2", "tolerance": 0.05,
                       "hold": 3}]})
    return site.model_copy(update={"integrity": integrity})


async def test_gateway_flags_false_data_in_a_redundant_pair(plant_site: SiteConfig,
                                                            tmp_path: Path) -> None:
    site = watched_site(relocate(plant_site, "127.0.47."))
    historian = open_historian(f"sqlite:///{tmp_path / 'h.db'}")
    plant = Plant(site, seed=2, scenario=parse_scenario(SCENARIO))
    await run_gateway(site, historian, tmp_path, BIAS_AT_SIM_S / SPEED + 8, plant=plant,
                      speed=SPEED, tick_s=0.1)
    events = [e for e in historian.events(0, now_ns() + 1, kind="integrity")
              if e.source == "integrity.sensors"]
    historian.close()
    assert events, "no sensor-integrity event reached the historian"
    first = events[0]
    assert first.kind == EventKind.INTEGRITY
    assert first.tag == "acme/lyon/utilities/water/storage/tank/level"
    assert first.data["integrity.kind"] == "inconsistent"
    assert abs(first.data["residual"]) > 0.3
