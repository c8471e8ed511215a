"""The baseline: what learning records, the JSON file round trip, merged ranges."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from isthmus.security.detect import Baseline, BaselineError, Detector
from isthmus.security.detect.intervals import contains, merge
from tests.security.detect.scenarios import EWS, HMI, PLC, baseline_of, benign, run


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> Baseline:
    return baseline_of(benign(0, 60).write(tmp_path_factory.mktemp("bl") / "clean.pcap"))


def test_learning_records_functions_ranges_and_polls(baseline: Baseline) -> None:
    poll = baseline.links[(HMI.ip, PLC.ip, "modbus")]
    assert poll.functions == {"read/read_holding_registers", "read/read_input_registers"}
    assert poll.reads == {1: [[0, 9], [100, 103]]}
    assert poll.writes == {} and not poll.wrote
    periods = {(p.function, p.address): p.period_s for p in poll.polls}
    assert periods == {("read_holding_registers", 0): 1.0, ("read_input_registers", 100): 1.0}
    writer = baseline.links[(EWS.ip, PLC.ip, "modbus")]
    assert writer.wrote and writer.writes == {1: [[8, 8]]}
    values = [100 + (i * 97) % 400 for i in range(6)]
    assert writer.write_values == {(1, 8): (min(values), max(values))}
    assert baseline.zone_hosts("ot") == {HMI.ip, EWS.ip, PLC.ip}
    assert baseline.zone_protocols("ot") == {"modbus"}


def test_baseline_file_round_trip(baseline: Baseline, tmp_path: Path) -> None:
    path = tmp_path / "baseline.json"
    baseline.save(path)
    loaded = Baseline.load(path)
    assert loaded.to_dict() == baseline.to_dict()
    doc = json.loads(path.read_text())
    assert doc["schema"] == "isthmus.baseline/1"
    assert doc["links"][0]["first_seen"].endswith("Z")


def test_baseline_with_another_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "old.json"
    path.write_text(json.dumps({"schema": "isthmus.baseline/0", "links": []}))
    with pytest.raises(BaselineError, match=r"schema 'isthmus\.baseline/0'"):
        Baseline.load(path)


def test_malformed_baseline_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"schema": "isthmus.baseline/1", "links": [{"client": 1}]}))
    with pytest.raises(BaselineError, match=r"bad\.json: malformed baseline"):
        Baseline.load(path)


def test_learning_for_a_time_then_protects(tmp_path: Path) -> None:
    scenario = benign(0, 120)
    scenario.exchange(100, ((b"\x06\x00\x08\x27\x0f"), b"\x06\x00\x08\x27\x0f"), client=EWS)
    saved: list[Baseline] = []
    detector = Detector(learn=True, learn_for_s=60, on_learned=saved.append)
    alerts, _ = run(scenario.write(tmp_path / "c.pcap"), detector)
    assert detector.mode == "protect" and len(saved) == 1
    assert saved[0].last_ts_ns - saved[0].first_ts_ns <= 61 * 10**9
    assert {a.rule_id for a in alerts} == {"ISTH-BL-008"}      # 9999 to register 8


_RANGES = st.lists(st.tuples(st.integers(0, 500), st.integers(0, 50)).map(
    lambda p: (p[0], p[0] + p[1])), max_size=30)


@given(_RANGES)
def test_merged_ranges_cover_exactly_the_same_addresses(ranges: list[tuple[int, int]]) -> None:
    merged = merge(ranges)
    covered = {a for low, high in ranges for a in range(low, high + 1)}
    assert {a for low, high in merged for a in range(low, high + 1)} == covered
    assert all(merged[i][1] + 1 < merged[i + 1][0] for i in range(len(merged) - 1))
    for low, high in ranges:
        assert contains(merged, low, high)
