"""`isthmus alarms` over a historian filled with the events of a real engine run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from isthmus.cli.alarms import alarms_command
from isthmus.cli.times import format_ts
from isthmus.historian import open_historian
from isthmus.model import Event
from tests.analytics.conftest import T0, S, rig

LEVEL = "process/line1/tank1/tank/level"
ALARMS = (
    {"id": "level-hi", "tag": LEVEL, "type": "hi", "limit": 80, "priority": "low"},
    {"id": "level-hihi", "tag": LEVEL, "type": "hihi", "limit": 90, "priority": "high"},
    {"id": "level-lo", "tag": LEVEL, "type": "lo", "limit": 10},
    {"id": "fault", "tag": "process/line1/tank1/tank/state", "type": "state", "state": 2},
    {"id": "temp-hi", "tag": "process/line1/tank1/tank/temperature", "type": "hi",
     "limit": 100},
)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """hihi unacknowledged-active, hi acknowledged-active, lo returned unacknowledged,
    fault shelved, temp-hi back to normal; level-hi chattered four times in the first
    minute."""
    r = rig(*ALARMS)
    events: list[Event] = []
    for k in range(4):
        events += r.engine.update(r.batch([("level", 10 * k, 85), ("level", 10 * k + 5, 50)]))
    events += r.engine.update(r.batch([("level", 100, 5), ("level", 110, 50),
                                       ("state", 120, 2)]))
    events += r.engine.shelve("fault", operator="ana", duration_s=3600, ts=T0 + 130 * S)
    events += r.engine.update(r.batch([("level", 200, 95)]))
    events += r.engine.acknowledge("level-hi", operator="ana", ts=T0 + 210 * S)
    events += r.engine.update(r.batch([("temperature", 700, 150), ("temperature", 710, 20)]))
    events += r.engine.acknowledge("temp-hi", operator="ana", ts=T0 + 720 * S)
    historian = open_historian(f"sqlite:///{tmp_path / 'historian.db'}")
    try:
        historian.write_events(events)
    finally:
        historian.close()
    return tmp_path


def _run(*args: str) -> list[dict[str, object]]:
    result = CliRunner().invoke(alarms_command, [*args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)  # type: ignore[no-any-return]


def test_lists_alarms_needing_attention_most_urgent_first(data_dir: Path) -> None:
    rows = _run("--data", str(data_dir))
    assert [(r["alarm"], r["state"]) for r in rows] == [
        ("level-hihi", "unack_active"), ("level-lo", "unack_rtn"),
        ("level-hi", "ack_active"), ("fault", "shelved")]
    hihi = rows[0]
    assert (hihi["value"], hihi["limit"], hihi["since"]) == (95.0, 90.0, format_ts(T0 + 200 * S))


def test_all_includes_normal_alarms(data_dir: Path) -> None:
    rows = _run("--data", str(data_dir), "--all")
    assert [(r["alarm"], r["state"]) for r in rows][-1] == ("temp-hi", "normal")
    assert len(rows) == len(ALARMS)


def test_kpi_report(data_dir: Path) -> None:
    rows = _run("--data", str(data_dir), "--kpis", "--from", format_ts(T0),
                "--to", format_ts(T0 + 600 * S))
    by_name = {(r["kpi"], r["scope"]): r for r in rows}
    assert by_name[("annunciations", "*")]["value"] == 8
    assert by_name[("alarms_per_10min_peak", "process")]["value"] == 8
    assert by_name[("chattering_alarms", "*")]["value"] == 1
    assert by_name[("chattering_alarms", "*")]["assessment"] == "level-hi"
    assert by_name[("bad_actor_1", "level-hi")]["value"] == 62.5  # 5 of 8


def test_csv_and_table_formats(data_dir: Path) -> None:
    csv = CliRunner().invoke(alarms_command, ["--data", str(data_dir), "--csv"])
    assert csv.output.splitlines()[0] == ("alarm,state,priority,area,tag,condition,value,limit,"
                                          "since,changed")
    table = CliRunner().invoke(alarms_command, ["--data", str(data_dir)])
    assert "level-hihi" in table.output.splitlines()[2]


def test_missing_historian_says_what_to_do(tmp_path: Path) -> None:
    result = CliRunner().invoke(alarms_command, ["--data", str(tmp_path / "none")])
    assert result.exit_code != 0
    assert "run `isthmus demo`" in result.output
