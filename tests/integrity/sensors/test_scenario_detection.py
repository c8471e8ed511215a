"""Every labelled fault of the `sensor-tamper` scenario is detected with the right kind on
the right tag, within its window; nothing is raised outside the fault windows. Detection
delays (from the fault's start in the scenario file) are printed with `-s`."""

from __future__ import annotations

import pytest

from isthmus.model import EventKind
from isthmus.sim.scenario import Replay, Scenario
from tests.integrity.sensors.conftest import TAMPER_HOURS
from tests.integrity.sensors.plant_feed import Run, ns

# ≈ 25 s once per session: 24.5 simulated hours of the plant at one sample per second
pytestmark = pytest.mark.slow

#: fault index in sensor-tamper.yaml → (tag the finding names, expected kind)
EXPECTED = {
    0: ("conveyor/motor/bearing_temperature", "stuck"),
    1: ("main/meter/kw", "frozen"),
    2: ("pumping/pump/pressure", "spike"),
    3: ("main/meter/voltage", "noise"),
    4: ("storage/tank/level", "drift"),          # level_2 drifts: redundant pair residual
    5: ("conveyor/motor/current", "replay"),
    6: ("storage/tank/level", "inconsistent"),   # false data into one of the pair
    7: ("storage/tank/level", "inconsistent"),   # flow falsified: the balance breaks
    8: ("main/meter/kwh", "inconsistent"),       # kWh no longer integrates kW
}
#: a relation integrated over a 600 s horizon still shows a fault that long after its end;
#: a finding needs its 60 s hold on top
GRACE_S = 600 + 60 + 5


def window(scenario: Scenario, index: int) -> tuple[int, int]:
    fault = scenario.faults[index]
    end = fault.start + (fault.duration or TAMPER_HOURS * 3600)
    return ns(fault.start), ns(end + GRACE_S)


def test_every_fault_is_labelled(tamper_scenario: Scenario) -> None:
    assert sorted(EXPECTED) == list(range(len(tamper_scenario.faults)))


@pytest.mark.parametrize("index", sorted(EXPECTED))
def test_fault_is_detected_with_its_kind(tamper_run: Run, tamper_scenario: Scenario,
                                         index: int) -> None:
    tag, kind = EXPECTED[index]
    start, end = window(tamper_scenario, index)
    hits = [e for e in tamper_run.of(tag)
            if e.data["integrity.kind"] == kind and start <= e.ts <= end]
    fault = tamper_scenario.faults[index]
    assert hits, (f"fault {index} ({fault.kind} on {fault.target}) not detected as {kind}; "
                  f"events on {tag}: {[e.message for e in tamper_run.of(tag)]}")
    first = min(hits, key=lambda e: e.ts)
    assert first.kind == EventKind.INTEGRITY
    assert first.tag is not None and first.tag.endswith(tag)
    print(f"\n{fault.kind:>6} on {fault.target}: {kind} after {(first.ts - start) / 1e9:.0f} s")


def test_no_event_outside_the_fault_windows(tamper_run: Run,
                                            tamper_scenario: Scenario) -> None:
    windows = [window(tamper_scenario, i) for i in EXPECTED]
    stray = [e.message for e in tamper_run.events
             if not any(a <= e.ts <= b for a, b in windows)]
    assert stray == []


def test_replay_evidence_points_at_the_recorded_segment(tamper_run: Run,
                                                        tamper_scenario: Scenario) -> None:
    fault = tamper_scenario.faults[5]
    assert isinstance(fault, Replay)
    first = tamper_run.first("conveyor/motor/current", "replay")
    assert first is not None
    recorded_from = ns(fault.source_start)
    recorded_to = recorded_from + int(fault.length * 1e9)
    assert recorded_from <= first.data["earlier_start"] < recorded_to
