"""`isthmus monitor`: events file, JSON summary, DOT map and the summary table."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from isthmus.cli.monitor import monitor_command
from tests.security.golden_cases import all_functions
from tests.security.traffic import write_pcap


def test_monitor_writes_events_summary_and_map(tmp_path: Path) -> None:
    linktype, frames = all_functions()
    pcap = write_pcap(tmp_path / "plant.pcap", frames, linktype=linktype)
    out, summary, dot = tmp_path / "events.jsonl", tmp_path / "summary.json", tmp_path / "m.dot"
    result = CliRunner().invoke(monitor_command, [
        "--pcap", str(pcap), "--out", str(out), "--json-summary", str(summary),
        "--dot", str(dot)])
    assert result.exit_code == 0, result.output
    events = [json.loads(line) for line in out.read_text().splitlines()]
    alerts = [e for e in events if e["event"]["kind"] == "alert"]
    assert len(events) - len(alerts) == 24
    assert {e["network"]["protocol"] for e in events} == {"modbus"}
    # the engineering workstation identifies the PLC and stops it: both are alerts
    assert sorted(a["rule"]["id"] for a in alerts) == ["ISTH-NET-004", "ISTH-OP-003"]
    roles = {h["ip"]: h["role"] for h in json.loads(summary.read_text())["hosts"]}
    assert roles == {"10.10.0.1": "plc", "10.10.0.2": "hmi", "10.10.0.3": "ews"}
    assert '"10.10.0.3" -> "10.10.0.1"' in dot.read_text()
    assert "Acme Automation AC-800 2.4.1" in result.output
    assert "umas" in result.output


def test_monitor_fails_clearly_when_no_capture_is_readable(tmp_path: Path) -> None:
    bogus = tmp_path / "x.pcap"
    bogus.write_text("not a capture")
    result = CliRunner().invoke(monitor_command, ["--pcap", str(bogus)])
    assert result.exit_code == 1
    assert "no capture could be read" in result.output
