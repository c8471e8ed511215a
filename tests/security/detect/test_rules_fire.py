"""Every built-in rule: a scenario that must fire it, and benign traffic that must not
fire any rule (in detect mode and in protect mode after learning)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from isthmus.security import Anomaly
from isthmus.security.detect import Alert, Baseline, Detector, builtin_rules
from tests.security.detect.scenarios import (
    EWS,
    HMI,
    INTRUDER,
    PLC,
    Scenario,
    StandIn,
    baseline_of,
    benign,
    device_id,
    diagnostics,
    drive,
    exception,
    fired,
    read,
    run,
    stand_in,
    umas,
    write_coil,
    write_register,
)

# ---- captures that must fire a rule without a baseline ---------------------------------


def _download(s: Scenario) -> None:
    s.exchange(70, umas(0x33), client=EWS)
    for i in range(7):
        s.exchange(70.1 + i / 10, umas(0x34, bytes(20)), client=EWS)
    s.exchange(71, umas(0x35), client=EWS)


def _upload(s: Scenario) -> None:
    s.exchange(70, umas(0x30), client=EWS)
    for i in range(3):
        s.exchange(70.1 + i / 10, umas(0x31), client=EWS)
    s.exchange(71, umas(0x32), client=EWS)


def _restart_storm(s: Scenario) -> None:
    for i in range(5):
        s.exchange(70 + i, diagnostics(1), client=INTRUDER)


def _unit_sweep(s: Scenario) -> None:
    for unit in range(1, 12):
        s.exchange(70 + unit / 10, read(0, 1), client=INTRUDER, unit=unit)


def _register_sweep(s: Scenario) -> None:
    for i in range(70):
        s.exchange(70 + i / 100, read(i * 100, 1), client=INTRUDER)


def _probing(s: Scenario) -> None:
    for i in range(10):
        s.exchange(70 + i / 10, exception(), client=INTRUDER)


def _flood(s: Scenario) -> None:
    for i in range(5000):
        s.exchange(70 + i / 10_000, read(0, 1), client=INTRUDER)


def _brute_force(s: Scenario) -> None:
    for i in range(20):
        s.exchange(70 + i / 10, write_coil(3, on=bool(i % 2)), client=EWS)


CAPTURES: dict[str, Callable[[Scenario], None]] = {
    "ISTH-OP-001": _download,
    "ISTH-OP-002": _upload,
    "ISTH-OP-003": lambda s: s.exchange(70, umas(0x41), client=EWS),
    "ISTH-OP-004": lambda s: s.exchange(70, umas(0x40), client=EWS),
    "ISTH-OP-005": lambda s: s.exchange(70, diagnostics(1), client=EWS),
    "ISTH-OP-006": _restart_storm,
    "ISTH-OP-007": lambda s: s.exchange(70, diagnostics(4), client=EWS),
    "ISTH-NET-001": _unit_sweep,
    "ISTH-NET-002": _register_sweep,
    "ISTH-NET-003": _probing,
    "ISTH-NET-004": lambda s: s.exchange(70, device_id(), client=INTRUDER),
    "ISTH-NET-007": _flood,
    "ISTH-NET-009": _brute_force,
}


@pytest.mark.parametrize("rule_id", sorted(CAPTURES))
def test_capture_fires_rule(rule_id: str, tmp_path: Path) -> None:
    scenario = benign(0, 60)
    CAPTURES[rule_id](scenario)
    alerts, _ = run(scenario.write(tmp_path / "attack.pcap"), Detector())
    assert rule_id in fired(alerts)
    rule = next(r for r in builtin_rules() if r.id == rule_id)
    alert = next(a for a in alerts if a.rule_id == rule_id)
    assert alert.count >= rule.threshold.count
    if rule.threshold.count > 1:
        assert str(rule.threshold.count) in alert.message or \
            alert.detail["distinct"], alert.message


def test_benign_capture_fires_no_rule(tmp_path: Path) -> None:
    alerts, events = run(benign(0, 120).write(tmp_path / "benign.pcap"), Detector())
    assert len(events) > 400
    assert not any(isinstance(e, Anomaly) for e in events)
    assert alerts == []


def test_download_is_one_operation_with_its_block_count(tmp_path: Path) -> None:
    scenario = benign(0, 60)
    _download(scenario)
    alerts, _ = run(scenario.write(tmp_path / "download.pcap"), Detector())
    downloads = [a for a in alerts if a.rule_id == "ISTH-OP-001"]
    assert [a.message for a in downloads] == [
        f"program download to {PLC.ip} (7 blocks) by {EWS.ip}"]
    assert downloads[0].detail["completed"] is True
    assert downloads[0].count == 9


def test_download_without_end_is_reported_at_the_end(tmp_path: Path) -> None:
    scenario = benign(0, 10)
    for i in range(3):
        scenario.exchange(11 + i, umas(0x34, bytes(4)), client=EWS)
    alerts, _ = run(scenario.write(tmp_path / "cut.pcap"), Detector())
    downloads = [a for a in alerts if a.rule_id == "ISTH-OP-001"]
    assert len(downloads) == 1 and downloads[0].detail["completed"] is False
    assert "(3 blocks)" in downloads[0].message


# ---- rules on protocols of other dissectors, driven with stand-in events -----------------

IT_HOST, OT_PLC, RTU, MASTER = "192.0.2.10", "10.20.0.5", "10.20.0.9", "10.20.0.2"


def _controller_poll(t: float) -> StandIn:
    return stand_in(t, "s7comm", "read", src="10.20.0.100", dst=OT_PLC, dport=102)


STAND_INS: dict[str, list[StandIn]] = {
    "ISTH-NET-005": [_controller_poll(0),
                     stand_in(1, "smb", "session", src=IT_HOST, dst=OT_PLC, dport=445)],
    "ISTH-NET-006": [stand_in(1, "rdp", "session", src=IT_HOST, dst=OT_PLC, dport=3389)],
    "ISTH-NET-008": [stand_in(i / 1000, "bacnet", "identify", src="10.20.0.50",
                              dst="10.20.0.255", transport="udp", dport=47808,
                              function="who_is") for i in range(200)],
    "ISTH-OP-001": [stand_in(i / 10, "s7", "download", src="10.20.0.100", dst=OT_PLC,
                             function=f) for i, f in enumerate(
                        ["request_download", "download_block", "download_ended",
                         "request_download", "download_block", "download_block",
                         "download_ended", "plc_control"])],
    "ISTH-OP-002": [stand_in(i / 10, "s7", "upload", src="10.20.0.100", dst=OT_PLC,
                             function=f) for i, f in enumerate(
                        ["start_upload", "upload", "end_upload"] * 3)],
    "ISTH-OP-007": [stand_in(0, "dnp3", "control", src=MASTER, dst=RTU,
                             function="disable_unsolicited")],
    "ISTH-NET-009": [stand_in(i / 10, "dnp3", "operate", src=MASTER, dst=RTU,
                              function="direct_operate", address=7) for i in range(20)],
    "ISTH-BL-010": [stand_in(0, "dnp3", "read", src=MASTER, dst=RTU, function="read"),
                    stand_in(1, "dnp3", "unsolicited", src="10.20.0.66", dst=MASTER,
                             direction="response", function="unsolicited_response")],
}


@pytest.mark.parametrize("rule_id", sorted(STAND_INS))
def test_stand_in_events_fire_rule(rule_id: str) -> None:
    assert rule_id in fired(drive(Detector(), STAND_INS[rule_id]))


def test_s7_download_of_two_blocks_then_insert_is_one_operation() -> None:
    detector = Detector()
    alerts = [a for e in STAND_INS["ISTH-OP-001"] for a in detector.observe(e)]
    assert [a.message for a in alerts] == [                # reported at _INSE, not at the end
        f"program download to {OT_PLC} (2 blocks) by 10.20.0.100"]
    assert alerts[0].detail["completed"] is True and alerts[0].count == 8


def test_s7_upload_without_final_message_is_reported_once_at_the_end() -> None:
    alerts = [a for a in drive(Detector(), STAND_INS["ISTH-OP-002"])
              if a.rule_id == "ISTH-OP-002"]
    assert [a.message for a in alerts] == [
        f"program upload from {OT_PLC} (3 blocks) by 10.20.0.100"]


def test_operations_separated_by_more_than_the_gap_are_two() -> None:
    events = [stand_in(t, "s7", "download", src="10.20.0.100", dst=OT_PLC,
                       function="request_download") for t in (0, 100)]
    alerts = [a for a in drive(Detector(sequence_gap_s=30), events)
              if a.rule_id == "ISTH-OP-001"]
    assert len(alerts) == 2


def test_it_protocol_to_a_non_controller_is_not_flagged() -> None:
    alerts = drive(Detector(), [stand_in(1, "smb", "session", src=IT_HOST,
                                         dst="10.20.0.77", dport=445)])
    assert "ISTH-NET-005" not in fired(alerts)


def test_it_net_moves_a_private_host_out_of_the_ot_zone() -> None:
    from isthmus.security.detect import Zones
    zones = Zones(it_nets=["10.20.0.0/24"])
    alerts = drive(Detector(zones=zones),
                   [stand_in(1, "rdp", "session", src="10.30.0.1", dst=OT_PLC, dport=3389)])
    assert "ISTH-NET-006" not in fired(alerts)
    assert zones.zone(OT_PLC) == "it" and zones.zone("10.30.0.1") == "ot"


def test_zone_defaults() -> None:
    from isthmus.security.detect import Zones
    default = Zones()
    assert [default.zone(ip) for ip in ("10.1.2.3", "127.0.66.6", "192.0.2.10")] == [
        "ot", "ot", "it"]
    it_only = Zones(it_nets=["10.1.0.0/16"])          # everything else is the plant
    assert [it_only.zone(ip) for ip in ("10.1.2.3", "10.2.0.1", "192.0.2.10")] == [
        "it", "ot", "ot"]
    both = Zones(ot_nets=["10.0.0.0/8"], it_nets=["10.1.0.0/16"])
    assert [both.zone(ip) for ip in ("10.1.2.3", "10.2.0.1", "192.0.2.10")] == [
        "it", "ot", "it"]


def test_enabling_unsolicited_reports_is_not_blocking_them() -> None:
    alerts = drive(Detector(), [stand_in(0, "dnp3", "control", src=MASTER, dst=RTU,
                                         function="enable_unsolicited")])
    assert alerts == []


def test_polled_outstation_sending_unsolicited_is_benign() -> None:
    events = [stand_in(0, "dnp3", "read", src=MASTER, dst=RTU, function="read"),
              stand_in(1, "dnp3", "unsolicited", src=RTU, dst=MASTER, direction="response",
                       function="unsolicited_response")]
    assert drive(Detector(), events) == []


# ---- baseline deviations: learn on benign traffic, protect on a scenario ----------------


@pytest.fixture(scope="module")
def learned(tmp_path_factory: pytest.TempPathFactory) -> Baseline:
    return baseline_of(benign(0, 120).write(tmp_path_factory.mktemp("learn") / "clean.pcap"))


def _poll_stops(s: Scenario) -> None:
    s.until(20)
    for t in range(20, 60, 2):
        s.exchange(t, write_register(8, 200), client=EWS)


PROTECT: dict[str, Callable[[Scenario], None]] = {
    "ISTH-BL-001": lambda s: s.exchange(30, read(0, 10), client=INTRUDER),
    "ISTH-BL-003": lambda s: s.exchange(30, read(0, 10), client=INTRUDER),
    "ISTH-BL-004": lambda s: s.exchange(30, read(0, 10, fc=1)),
    "ISTH-BL-005": lambda s: s.exchange(30, write_register(8, 200)),
    "ISTH-BL-006": lambda s: s.exchange(30, write_coil(3), client=INTRUDER),
    "ISTH-BL-007": lambda s: s.exchange(30, write_register(50, 200), client=EWS),
    "ISTH-BL-008": lambda s: s.exchange(30, write_register(8, 9999), client=EWS),
    "ISTH-BL-009": _poll_stops,
}


@pytest.mark.parametrize("rule_id", sorted(PROTECT))
def test_protect_mode_fires_rule(rule_id: str, learned: Baseline, tmp_path: Path) -> None:
    scenario = benign(3600, 60)
    PROTECT[rule_id](scenario)
    alerts, _ = run(scenario.write(tmp_path / "protect.pcap"), Detector(baseline=learned))
    assert rule_id in fired(alerts)


def test_alerts_are_counted_once_by_rule(learned: Baseline, tmp_path: Path) -> None:
    scenario = benign(3600, 60)
    _poll_stops(scenario)                                 # raised on a once-a-second tick
    _download(scenario)                                   # raised by an event
    detector = Detector(baseline=learned)
    alerts, _ = run(scenario.write(tmp_path / "protect.pcap"), detector)
    by_rule = {k.split()[0]: v for k, v in detector.by_rule.items()}
    assert by_rule == {r: sum(a.rule_id == r for a in alerts) for r in fired(alerts)}
    assert by_rule["ISTH-BL-009"] == 2 and by_rule["ISTH-OP-001"] == 1


def test_protect_mode_on_benign_traffic_fires_no_rule(learned: Baseline,
                                                       tmp_path: Path) -> None:
    alerts, _ = run(benign(7200, 90).write(tmp_path / "later.pcap"),
                    Detector(baseline=learned))
    assert alerts == []


def test_known_writer_is_not_a_new_master(learned: Baseline, tmp_path: Path) -> None:
    scenario = benign(3600, 60)
    PROTECT["ISTH-BL-005"](scenario)
    alerts, _ = run(scenario.write(tmp_path / "protect.pcap"), Detector(baseline=learned))
    masters = [a for a in alerts if a.rule_id == "ISTH-BL-005"]
    assert [a.client for a in masters] == [HMI.ip]
    assert "ISTH-BL-006" not in fired(alerts)


def test_setpoint_alert_names_the_learned_range(learned: Baseline, tmp_path: Path) -> None:
    scenario = benign(3600, 60)
    PROTECT["ISTH-BL-008"](scenario)
    alerts, _ = run(scenario.write(tmp_path / "protect.pcap"), Detector(baseline=learned))
    (alert,) = [a for a in alerts if a.rule_id == "ISTH-BL-008"]
    low, high = learned.links[(EWS.ip, PLC.ip, "modbus")].write_values[(1, 8)]
    assert alert.detail["value"] == 9999
    assert (alert.detail["learned_min"], alert.detail["learned_max"]) == (low, high)


def test_new_protocol_in_the_ot_zone(learned: Baseline) -> None:
    alerts = drive(Detector(baseline=learned),
                   [stand_in(0, "dnp3", "read", src=HMI.ip, dst=PLC.ip)])
    assert "ISTH-BL-002" in fired(alerts)


def test_unsolicited_rate_far_above_baseline() -> None:
    quiet = [stand_in(0, "dnp3", "read", src=MASTER, dst=RTU)] + [
        stand_in(10 * i, "dnp3", "unsolicited", src=RTU, dst=MASTER, direction="response")
        for i in range(1, 30)]
    learner = Detector(learn=True)
    drive(learner, quiet)
    storm = [stand_in(1000, "dnp3", "read", src=MASTER, dst=RTU)] + [
        stand_in(1000 + i / 10, "dnp3", "unsolicited", src=RTU, dst=MASTER,
                 direction="response") for i in range(100)]
    alerts = drive(Detector(baseline=learner.learned()), storm)
    assert "ISTH-BL-011" in fired(alerts)
    assert "ISTH-BL-010" not in fired(alerts)


def test_every_builtin_rule_has_a_scenario() -> None:
    covered = set(CAPTURES) | set(STAND_INS) | set(PROTECT) | {"ISTH-BL-002", "ISTH-BL-011"}
    assert {r.id for r in builtin_rules()} == covered


def test_alerts_carry_techniques_and_the_attack_version(tmp_path: Path) -> None:
    alerts = drive(Detector(), STAND_INS["ISTH-BL-010"])
    (alert,) = [a for a in alerts if a.rule_id == "ISTH-BL-010"]
    assert isinstance(alert, Alert)
    assert alert.attack_version == "19"
    assert alert.techniques[0].ids == ["T0856", "T1692.002"]
