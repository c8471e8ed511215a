"""The detector over the real industrial dissectors' golden captures (S7, DNP3,
EtherNet/IP): operations arrive as the dissectors classify them and become verdicts."""

from __future__ import annotations

from pathlib import Path

from isthmus.security.detect import Detector
from tests.security import golden_ics
from tests.security.detect.scenarios import fired, run
from tests.security.traffic import write_pcap


def _alerts(name: str, tmp_path: Path) -> list[str]:
    linktype, frames = getattr(golden_ics, name)()
    alerts, _ = run(write_pcap(tmp_path / f"{name}.pcap", frames, linktype=linktype),
                    Detector())
    return [f"{a.rule_id} {a.message}" for a in alerts]


def test_s7_download_upload_stop_and_start_become_operations(tmp_path: Path) -> None:
    alerts = _alerts("s7_download_and_stop", tmp_path)
    assert "ISTH-OP-001 program download to 10.20.0.12 (1 block) by 10.20.0.3" in alerts
    assert "ISTH-OP-002 program upload from 10.20.0.12 (1 block) by 10.20.0.3" in alerts
    assert "ISTH-OP-003 CPU stop of 10.20.0.12 by 10.20.0.3" in alerts
    assert "ISTH-OP-004 CPU start of 10.20.0.12 by 10.20.0.3" in alerts
    assert sum(a.startswith("ISTH-OP-001") for a in alerts) == 1


def test_dnp3_restart_is_reported(tmp_path: Path) -> None:
    alerts = _alerts("dnp3_outstation", tmp_path)
    assert "ISTH-OP-005 restart of 10.20.0.10 by 10.20.0.2" in alerts


def test_enip_identity_stop_and_reset(tmp_path: Path) -> None:
    linktype, frames = golden_ics.enip_logix()
    alerts, _ = run(write_pcap(tmp_path / "enip.pcap", frames, linktype=linktype),
                    Detector())
    assert {"ISTH-NET-004", "ISTH-OP-003", "ISTH-OP-005"} <= fired(alerts)
