"""The security monitor inside the running gateway: a site file with `security_monitor:`,
the simulated plant on test-owned loopback hosts, the attack-modbus intruder at 127.0.66.6.
Its alerts and flagged requests reach the historian and the bus as security events with
ATT&CK ids and the tag the write hit; the inventory reaches the asset table."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from pydantic import ValidationError

from isthmus.bus import Bus
from isthmus.cli.history import events_command
from isthmus.config import SiteConfigError, load_site
from isthmus.config.schema import SiteConfig
from isthmus.config.security import SecurityMonitorConfig
from isthmus.gateway import Gateway
from isthmus.historian import open_historian
from isthmus.historian.assets import open_asset_store
from isthmus.model import Event, EventKind, SampleBatch, Severity
from isthmus.security.capture.live import LiveCapture, LiveCaptureError
from isthmus.security.detect import Baseline
from isthmus.security.platform import PlatformMonitor, PlatformMonitorError, site_filter
from isthmus.sim import Plant, SimulatorServer
from isthmus.sim.attack import ATTACKS, INTRUDER, run_attack
from tests.security.loopback import EXAMPLE, plant_on

BASE = "127.0.93."
PLAN = replace(ATTACKS["attack-modbus"], units=range(0, 4), pause_s=0.05)
SETPOINT = "acme/lyon/packaging/line1/filler/filler/setpoint"
COIL = "acme/lyon/packaging/line1/conveyor/motor/running"


def _with_monitor(site: SiteConfig, section: dict[str, Any]) -> SiteConfig:
    data = site.model_dump(mode="json")
    data["security_monitor"] = section
    return SiteConfig.model_validate(data)


def _need_capture() -> None:
    try:
        with LiveCapture("lo"):
            pass
    except LiveCaptureError as exc:
        pytest.skip(f"no live capture here: {exc}")


@dataclass
class Attacked:
    url: str
    data_dir: Path
    site: SiteConfig
    stored: list[Event]
    on_bus: list[Event]
    batches_on_bus: int
    status: str
    cef_lines: list[str] = field(default_factory=list)


async def _attack_a_running_gateway(site: SiteConfig, data_dir: Path) -> Attacked:
    url = f"sqlite:///{data_dir}/h.db"
    historian = open_historian(url)
    gateway = Gateway(site, historian, data_dir=data_dir, historian_url=url)
    feed = gateway.bus.subscribe("siem", durable=False, maxsize=100_000, events_only=True)
    stop, sim_stop = asyncio.Event(), asyncio.Event()
    try:
        async with SimulatorServer(Plant(site, seed=3)) as server:
            sim = asyncio.create_task(server.run_until(sim_stop))
            run = asyncio.create_task(gateway.run(stop))
            await asyncio.sleep(2.5)               # the gateway records the process
            await run_attack(site, PLAN)
            await asyncio.sleep(2.5)               # the writes settle, the process follows
            assert gateway.security is not None
            status = gateway.security.status()
            stop.set()
            await run
            sim_stop.set()
            await sim
        stored = historian.events(0, 2**62, kind="security", limit=100_000)
    finally:
        historian.close()
    messages, _ = feed.get_ready(100_000)
    return Attacked(url, data_dir, site, stored,
                    [m for m in messages if isinstance(m, Event)],
                    sum(isinstance(m, SampleBatch) for m in messages), status)


@pytest.fixture(scope="module")
def attacked(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Attacked]:
    _need_capture()
    data_dir = tmp_path_factory.mktemp("platform")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as siem:
        siem.bind(("127.0.0.1", 0))
        siem.setblocking(False)
        site = _with_monitor(plant_on(BASE), {
            "iface": "lo", "settle": "1.5s", "inventory_every": 0.5,
            "zeek_dir": str(data_dir / "zeek"), "cef": f"127.0.0.1:{siem.getsockname()[1]}"})
        attacked = asyncio.run(_attack_a_running_gateway(site, data_dir))
        while True:
            try:
                attacked.cef_lines.append(siem.recv(65535).decode())
            except BlockingIOError:
                break
    yield attacked


def _writes(events: list[Event]) -> dict[str, Event]:
    """The flagged write requests by tag (not the detection alerts about them)."""
    return {e.tag: e for e in events if e.tag and e.data.get("event", {}).get("kind") != "alert"}


def test_the_setpoint_write_is_stored_with_tag_value_before_and_after(
        attacked: Attacked) -> None:
    event = _writes(attacked.stored)[SETPOINT]
    assert event.kind == EventKind.SECURITY and event.source == "monitor"
    assert "T0855" in event.attack_techniques and INTRUDER in event.message
    fields = event.data["isthmus"]
    assert fields["value_written"] == pytest.approx(1500.0)    # range 0–1000 g
    assert fields["before"]["value"] == pytest.approx(500.0)   # the filler's initial setpoint
    historian = open_historian(attacked.url)
    try:                        # the first sample the gateway polled after the write
        after = historian.raw(SETPOINT, event.ts + 1, event.ts + 60 * 10**9, limit=1)
    finally:
        historian.close()
    assert len(after) == 1 and fields["after"]["value"] == float(after.value[0])
    assert fields["after"]["value"] != fields["before"]["value"]
    assert fields["before"]["timestamp"] < fields["after"]["timestamp"]


def test_the_forced_coil_names_its_tag(attacked: Attacked) -> None:
    event = _writes(attacked.stored)[COIL]
    assert event.data["isthmus"]["value_written"] == 0.0
    assert "T0855" in event.attack_techniques


def _alerts(events: list[Event]) -> list[Event]:
    return [e for e in events if e.data.get("event", {}).get("kind") == "alert"]


def test_detection_alerts_are_stored_with_their_attack_ids(attacked: Attacked) -> None:
    alerts = _alerts(attacked.stored)
    assert alerts and all(e.attack_techniques for e in alerts)
    assert all(e.data["isthmus"]["alert"]["client"] == INTRUDER for e in alerts)
    assert all(e.severity >= Severity.LOW for e in alerts)


def test_identification_requests_are_stored_as_discovery(attacked: Attacked) -> None:
    identify = [e for e in attacked.stored if "T0888" in e.attack_techniques]
    assert {e.asset for e in identify} >= {d.host for d in attacked.site.devices}


def test_a_bus_subscriber_receives_the_same_security_events_and_no_batches(
        attacked: Attacked) -> None:
    security = [e for e in attacked.on_bus if e.kind == EventKind.SECURITY]
    key = [(e.ts, e.message) for e in attacked.stored]
    assert sorted((e.ts, e.message) for e in security) == sorted(key)
    assert attacked.batches_on_bus == 0


def test_the_inventory_is_in_the_asset_table(attacked: Attacked) -> None:
    with open_asset_store(attacked.url) as store:
        assets = {a.id: a for a in store.assets()}
    assert assets["line1-plc"].vendor == "Isthmus simulator"
    assert assets["line1-plc"].origin == "configured"
    assert assets[f"ip:{INTRUDER}"].origin == "discovered"


def test_the_status_line_counts_frames_and_alerts(attacked: Attacked) -> None:
    assert attacked.status.startswith("security (detect): ")
    frames = int(attacked.status.split(": ")[1].split(" frames")[0].replace(",", ""))
    assert frames > 0
    assert " 0 alerts" not in attacked.status


def test_alerts_are_sent_to_the_siem_as_cef(attacked: Attacked) -> None:
    alerts = _alerts(attacked.stored)
    assert len(attacked.cef_lines) == len(alerts)
    assert all("CEF:0|" in line and f"src={INTRUDER}" in line for line in attacked.cef_lines)


def test_zeek_logs_are_written_in_a_folder_per_run(attacked: Attacked) -> None:
    [run] = (attacked.data_dir / "zeek").iterdir()
    modbus = (run / "modbus.log").read_text().splitlines()
    assert modbus[4] == "#path\tmodbus"
    assert any(INTRUDER in row and "WRITE_SINGLE_REGISTER" in row.upper() for row in modbus)
    assert (run / "notice.log").exists()


def test_isthmus_events_lists_the_security_events(attacked: Attacked) -> None:
    result = CliRunner().invoke(events_command, ["--kind", "security", "--from", "-1h",
                                                 "--historian", attacked.url, "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert len(rows) == len(attacked.stored)
    assert any(r["tag"] == SETPOINT and "T0855" in r["attack"] for r in rows)
    assert {r["kind"] for r in rows} == {"security"}


# ---- learning mode ---------------------------------------------------------------------

async def _learn_then_attack(site: SiteConfig, data_dir: Path) -> tuple[list[Event], str]:
    url = f"sqlite:///{data_dir}/h.db"
    historian = open_historian(url)
    gateway = Gateway(site, historian, data_dir=data_dir, historian_url=url)
    stop, sim_stop = asyncio.Event(), asyncio.Event()
    try:
        async with SimulatorServer(Plant(site, seed=4)) as server:
            sim = asyncio.create_task(server.run_until(sim_stop))
            run = asyncio.create_task(gateway.run(stop))
            await asyncio.sleep(3.0)               # > learn_for of polling traffic
            assert gateway.security is not None
            mode = gateway.security.counters.mode
            await run_attack(site, PLAN)
            await asyncio.sleep(1.0)
            stop.set()
            await run
            sim_stop.set()
            await sim
        return historian.events(0, 2**62, kind="security"), mode
    finally:
        historian.close()


@pytest.fixture(scope="module")
def learned(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Event], str, Path]:
    _need_capture()
    site = _with_monitor(plant_on("127.0.94."), {"learn_for": "1s", "settle": "0.5s"})
    data_dir = tmp_path_factory.mktemp("learn")
    events, mode = asyncio.run(_learn_then_attack(site, data_dir))
    return events, mode, data_dir


def test_learning_saves_the_baseline_in_the_data_dir_then_protects(
        learned: tuple[list[Event], str, Path]) -> None:
    events, mode, data_dir = learned
    saved = data_dir / "security" / "baseline.json"
    baseline = Baseline.load(saved)
    assert {"127.0.94.1", "127.0.94.2"} <= {server for (_, server, _) in baseline.links}
    assert mode == "protect"
    [note] = [e for e in events if "baseline" in e.data]
    assert note.severity == Severity.INFO and str(saved) in note.message


def test_in_protect_mode_the_alert_about_a_write_names_the_tag(
        learned: tuple[list[Event], str, Path]) -> None:
    events, _, _ = learned
    about_setpoint = [e for e in _alerts(events) if e.tag == SETPOINT]
    assert about_setpoint, [e.message for e in _alerts(events)]
    assert any("T0855" in e.attack_techniques for e in about_setpoint)
    assert about_setpoint[0].data["isthmus"]["value_written"] == pytest.approx(1500.0)


# ---- set-up errors ---------------------------------------------------------------------

async def test_a_missing_rules_file_stops_the_gateway_before_it_starts(tmp_path: Path) -> None:
    site = _with_monitor(plant_on(BASE), {"rules": [str(tmp_path / "nowhere.yaml")]})
    historian = open_historian(f"sqlite:///{tmp_path}/h.db")
    try:
        with pytest.raises(PlatformMonitorError, match=r"nowhere\.yaml"):
            await Gateway(site, historian, data_dir=tmp_path).run(asyncio.Event())
    finally:
        historian.close()


async def test_a_capture_that_cannot_open_is_reported_and_the_gateway_keeps_running(
        tmp_path: Path) -> None:
    site = _with_monitor(plant_on(BASE), {"iface": "nosuch0"})
    historian = open_historian(f"sqlite:///{tmp_path}/h.db")
    stop = asyncio.Event()
    try:
        run = asyncio.create_task(Gateway(site, historian, data_dir=tmp_path).run(stop))
        await asyncio.sleep(1.5)
        assert not run.done()
        stop.set()
        await run
        events = historian.events(0, 2**62, kind="system")
    finally:
        historian.close()
    crashed = [e for e in events if e.source == "security monitor"]
    assert crashed and "nosuch0" in crashed[0].message
    assert crashed[0].severity == Severity.HIGH


def test_a_bad_filter_is_refused_when_the_capture_opens(tmp_path: Path) -> None:
    site = _with_monitor(plant_on(BASE), {"filter": "host and and"})
    assert site.security_monitor is not None

    async def publish(event: Event) -> None: ...

    monitor = PlatformMonitor(site, site.security_monitor, data_dir=tmp_path, publish=publish)
    with pytest.raises(LiveCaptureError, match="does not compile"):
        monitor.probe()


# ---- the site-file section -------------------------------------------------------------

def test_the_section_reads_durations_networks_and_the_filter_key() -> None:
    config = SecurityMonitorConfig.model_validate(
        {"iface": "eth1", "filter": "tcp port 502", "learn_for": "1h30m", "settle": "500ms",
         "ot_nets": ["10.10.0.0/16"], "it_nets": ["192.168.0.0/24"], "cef": "siem:514"})
    assert config.bpf == "tcp port 502"
    assert config.learn_for == 5400.0 and config.settle == 0.5
    assert config.ot_nets == ["10.10.0.0/16"]


@pytest.mark.parametrize(("section", "message"), [
    ({"learn_for": "1h", "baseline": "b.json"}, "not both"),
    ({"ot_nets": ["10.0.0.0/33"]}, "is not a network"),
    ({"cef": "siem"}, "is not HOST:PORT"),
    ({"settle": "soon"}, "is not a duration"),
    ({"learn_for": 0}, "greater than 0"),
    ({"iface": "lo", "bogus": 1}, "Extra inputs"),
])
def test_a_bad_section_is_refused_with_the_reason(section: dict[str, Any],
                                                  message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        SecurityMonitorConfig.model_validate(section)


def test_a_bad_section_in_a_site_file_is_reported_with_its_line(tmp_path: Path) -> None:
    text = EXAMPLE.read_text() + "security_monitor:\n  iface: lo\n  settle: soon\n"
    (tmp_path / "site.yaml").write_text(text)
    line = len(text.splitlines())
    with pytest.raises(SiteConfigError, match=rf"site.yaml:{line}:\d+: "
                                              r"security_monitor\.settle: 'soon' is not a"):
        load_site(tmp_path / "site.yaml")


def test_absent_section_is_off_and_the_default_filter_is_the_device_hosts() -> None:
    site = plant_on(BASE)
    assert site.security_monitor is None
    hosts = sorted({d.host for d in site.devices})
    assert site_filter(site) == " or ".join(f"host {h}" for h in hosts)


def test_the_section_survives_moving_the_site_to_other_hosts() -> None:
    site = _with_monitor(plant_on(BASE), {"filter": "tcp", "settle": "2s"})
    moved = site.on_hosts("127.0.95.")
    assert moved.security_monitor == site.security_monitor


# ---- the bus's events-only subscription ------------------------------------------------

async def test_an_events_only_subscriber_gets_events_but_no_sample_batches() -> None:
    bus = Bus()
    everything = bus.subscribe("all", durable=True, maxsize=10)
    events = bus.subscribe("events", durable=True, maxsize=10, events_only=True)
    batch = SampleBatch.of([1], [1], [1.0])
    event = Event(1, EventKind.SECURITY, Severity.HIGH, "x")
    await bus.publish(batch)
    await bus.publish(event)
    await bus.close()
    assert [m async for m in events] == [event]
    assert [m async for m in everything] == [batch, event]



# ---- `isthmus run -c site.yaml` --------------------------------------------------------

def test_isthmus_run_with_the_section_watches_the_plant(tmp_path: Path) -> None:
    _need_capture()
    site = _with_monitor(plant_on("127.0.97."), {"settle": "0.5s"})
    site_file = tmp_path / "site.yaml"
    site_file.write_text(yaml.safe_dump(site.model_dump(mode="json", by_alias=True,
                                                        exclude_none=True)))
    isthmus = [str(Path(sys.executable).parent / "isthmus")]
    sim = subprocess.Popen([*isthmus, "sim", "-c", str(site_file), "--duration", "14"],
                           stderr=subprocess.DEVNULL)
    run = subprocess.Popen([*isthmus, "run", "-c", str(site_file), "--duration", "9",
                            "--data", str(tmp_path / "data")],
                           stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(4.0)
        asyncio.run(run_attack(site, replace(PLAN, units=range(1, 2))))
        _, err = run.communicate(timeout=60)
    finally:
        sim.terminate()
        sim.wait(timeout=30)
    assert run.returncode == 0, err
    assert "security (detect): " in err
    result = CliRunner().invoke(events_command, ["--kind", "security", "--from", "-1h",
                                                 "--data", str(tmp_path / "data"), "--json"])
    assert result.exit_code == 0, result.output
    tags = {r["tag"] for r in json.loads(result.output)}
    assert SETPOINT in tags and COIL in tags
