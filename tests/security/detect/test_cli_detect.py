"""`isthmus monitor` with the detection flags: learn by capture, protect with --baseline,
JSON alerts in --out, Zeek logs, CEF to a real UDP socket, the alerts table."""

from __future__ import annotations

import json
import socket
from pathlib import Path

from click.testing import CliRunner

from isthmus.cli.monitor import monitor_command
from tests.security.detect.scenarios import EWS, benign, write_register


def test_learn_then_protect_from_the_command_line(tmp_path: Path) -> None:
    clean = benign(0, 60).write(tmp_path / "clean.pcap")
    baseline = tmp_path / "baseline.json"
    result = CliRunner().invoke(monitor_command, ["--pcap", str(clean), "--learn",
                                                  str(baseline)])
    assert result.exit_code == 0, result.output
    assert f"saved to {baseline}" in result.output
    assert json.loads(baseline.read_text())["schema"] == "isthmus.baseline/1"

    attack = benign(3600, 30)
    attack.exchange(31, write_register(8, 9999), client=EWS)
    out, zeek = tmp_path / "events.jsonl", tmp_path / "zeek"
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as siem:
        siem.bind(("127.0.0.1", 0))
        siem.settimeout(5)
        result = CliRunner().invoke(monitor_command, [
            "--pcap", str(attack.write(tmp_path / "attack.pcap")), "--baseline", str(baseline),
            "--out", str(out), "--zeek", str(zeek),
            "--cef", f"127.0.0.1:{siem.getsockname()[1]}"])
        assert result.exit_code == 0, result.output
        datagram = siem.recv(65535).decode()
    alerts = [d for d in map(json.loads, out.read_text().splitlines())
              if d["event"]["kind"] == "alert"]
    assert [a["rule"]["id"] for a in alerts] == ["ISTH-BL-008"]
    assert alerts[0]["threat"]["technique"]["id"] == ["T0836", "T0831"]
    assert "|ISTH-BL-008|Setpoint outside learned range|8|" in datagram
    assert "Isthmus::ISTH_BL_008" in (zeek / "notice.log").read_text()
    assert "Alerts by rule" in result.output and "ISTH-BL-008" in result.output
    assert "1 alerts (detection mode: protect)" in result.output


def test_learn_for_needs_learn() -> None:
    result = CliRunner().invoke(monitor_command, ["--pcap", "x.pcap", "--learn-for", "1h"])
    assert result.exit_code == 2 and "--learn-for needs --learn FILE" in result.output


def test_bad_ot_net_is_a_usage_error(tmp_path: Path) -> None:
    clean = benign(0, 2).write(tmp_path / "c.pcap")
    result = CliRunner().invoke(monitor_command, ["--pcap", str(clean), "--ot-net", "10.0/x"])
    assert result.exit_code == 2 and "--ot-net '10.0/x' is not a network" in result.output
