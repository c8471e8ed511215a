"""Roles inferred from behaviour, each with the reasons an analyst can check."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from isthmus.cli import main
from isthmus.config import load_site
from isthmus.security.assets import configured_assets
from isthmus.security.craft import Endpoint, TcpConversation
from isthmus.security.monitor import Monitor
from isthmus.security.roles import HISTORIAN_READS, infer_role
from tests.security.golden_cases import all_functions
from tests.security.traffic import read_request, registers_response, write_pcap

EXAMPLE = Path(__file__).parents[2] / "examples" / "packaging-plant.yaml"


@pytest.mark.parametrize(("client_of", "server_of", "operations", "servers", "role", "why"), [
    (set(), {"modbus"}, {}, 0, "plc", "serves modbus"),
    (set(), {"dnp3", "modbus"}, {}, 0, "rtu", "serves dnp3"),
    (set(), {"iec104"}, {}, 0, "rtu", "serves iec104"),
    ({"modbus"}, set(), {"read": 5, "program": 1}, 1, "ews", "program ×1"),
    ({"s7comm"}, set(), {"download": 3}, 1, "ews", "download ×3"),
    ({"modbus"}, set(), {"read": 50}, 3, "hmi", "polls 3 controllers"),
    ({"modbus"}, set(), {"read": 50, "write": 2}, 1, "hmi", "writes 2 times"),
    ({"modbus", "http"}, set(), {"read": HISTORIAN_READS}, 4, "historian", "also speaks http"),
    ({"hl7"}, {"dicom"}, {}, 1, "medical-device", "dicom, hl7"),
    ({"smb", "rdp"}, set(), {"other": 3}, 1, "it-host", "rdp, smb"),
    ({"modbus"}, set(), {"identify": 1}, 1, "ot-client", "identify ×1"),
    (set(), set(), {}, 0, "unknown", "no recognised"),
])
def test_role_and_its_reason(client_of: set[str], server_of: set[str],
                             operations: dict[str, int], servers: int, role: str,
                             why: str) -> None:
    found = infer_role(client_of=client_of, server_of=server_of, operations=operations,
                       servers=servers)
    assert found.name == role
    assert any(why in reason for reason in found.reasons), found.reasons


def test_a_client_of_many_reads_without_it_protocols_is_no_historian() -> None:
    found = infer_role(client_of={"modbus"}, server_of=set(),
                       operations={"read": 10 * HISTORIAN_READS}, servers=2)
    assert found.name == "hmi"


def test_the_monitor_counts_the_controllers_a_host_polls(tmp_path: Path) -> None:
    hmi = Endpoint("10.20.0.9", 41000, "02:00:00:00:00:09")
    frames: list[bytes] = []
    for i in (1, 2, 3):
        plc = Endpoint(f"10.20.0.{i}", 502, f"02:00:00:00:01:0{i}")
        talk = TcpConversation(Endpoint(hmi.ip, hmi.port + i, hmi.mac), plc)
        frames += [*talk.handshake(), talk.send(True, read_request(i)),
                   talk.send(False, registers_response(i, [i, i])), *talk.close()]
    monitor = Monitor()
    monitor.read(write_pcap(tmp_path / "poll.pcap", frames))
    hosts = {h["ip"]: h for h in monitor.finish().hosts}
    assert hosts["10.20.0.9"]["role"] == "hmi"
    assert hosts["10.20.0.9"]["role_reasons"][0].startswith("polls 3 controllers")
    assert {hosts[f"10.20.0.{i}"]["role"] for i in (1, 2, 3)} == {"plc"}
    assert hosts["10.20.0.1"]["role_reasons"] == ["serves modbus"]


def test_monitor_merges_the_sites_devices_and_stores_the_inventory(tmp_path: Path) -> None:
    linktype, frames = all_functions()                 # PLC 10.10.0.1, HMI .2, EWS .3
    pcap = write_pcap(tmp_path / "plant.pcap", frames, linktype=linktype)
    site = load_site(EXAMPLE).model_dump(mode="json")
    for device, host in zip(site["devices"], ("10.10.0.1", "10.99.0.2", "10.99.0.3"),
                            strict=True):
        device["host"], device["port"] = host, 502
    site_file = tmp_path / "site.yaml"
    site_file.write_text(yaml.safe_dump(site))
    data = tmp_path / "data"
    runner = CliRunner()
    result = runner.invoke(main, ["monitor", "--pcap", str(pcap), "--site", str(site_file),
                                  "--data", str(data)])
    assert result.exit_code == 0, result.output
    listed = runner.invoke(main, ["assets", "--data", str(data), "--json"])
    assert listed.exit_code == 0, listed.output
    rows = {row["id"]: row for row in json.loads(listed.output)}
    assert set(rows) == {"line1-plc", "utilities-plc", "energy-meter", "ip:10.10.0.2",
                         "ip:10.10.0.3"}               # .1 is line1-plc, merged
    plc = rows["line1-plc"]
    assert (plc["origin"], plc["vendor"], plc["firmware"]) == ("configured", "Acme Automation",
                                                               "2.4.1")
    assert plc["first_seen"] and rows["utilities-plc"]["first_seen"] in ("", None)
    assert (rows["ip:10.10.0.3"]["kind"], rows["ip:10.10.0.3"]["origin"]) == ("ews",
                                                                              "discovered")


def test_configured_assets_carry_their_units_paths() -> None:
    site = load_site(EXAMPLE)
    assets = {a.id: a for a in configured_assets(site)}
    assert assets["line1-plc"].uns_path == "acme/lyon/packaging/line1"
    assert assets["energy-meter"].uns_path == "acme/lyon/utilities/power/main/meter"
    assert assets["line1-plc"].properties["units"]["2"] == "acme/lyon/packaging/line1/filler/filler"
