"""Live capture on `lo`: the simulator polled by pymodbus, captured through an AF_PACKET
socket with a BPF filter compiled by libpcap, fed to the monitor as it arrives."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from pymodbus.client import AsyncModbusTcpClient

from isthmus.cli.monitor import monitor_command
from isthmus.config.schema import SiteConfig
from isthmus.security.capture.live import LiveCaptureError, compile_filter
from isthmus.security.dissectors.modbus.session import ModbusEvent
from isthmus.sim import Plant, SimulatorServer
from tests.security.loopback import LiveMonitor, plant_on

BASE = "127.0.88."


async def _poll(site: SiteConfig, rounds: int = 3) -> None:
    """Read holding registers of unit 1 of the first two PLCs, `rounds` times each."""
    clients = [AsyncModbusTcpClient(d.host, port=d.port, timeout=2, retries=0)
               for d in site.devices[:2]]
    for client in clients:
        assert await client.connect()
    try:
        for _ in range(rounds):
            for client in clients:
                await client.read_input_registers(0, count=1, device_id=1)
    finally:
        for client in clients:
            client.close()
    await asyncio.sleep(0.3)                   # let the FIN exchange reach the capture


def _servers(events: list[object]) -> set[str]:
    return {e.flow.src if e.direction == "response" else e.flow.dst
            for e in events if isinstance(e, ModbusEvent)}


async def test_filter_keeps_only_the_matching_host_in_the_kernel() -> None:
    site = plant_on(BASE)
    first, second = site.devices[0].host, site.devices[1].host
    async with SimulatorServer(Plant(site, seed=1)):
        with LiveMonitor(bpf=f"host {first}") as live:
            await _poll(site)
    assert _servers(live.events) == {first}, f"{second} should have been filtered out"
    requests = [e for e in live.events if isinstance(e, ModbusEvent)
                and e.direction == "request"]
    assert len(requests) == 3
    assert live.summary is not None
    capture = live.summary.capture
    assert capture["filter"] == f"host {first}"
    assert capture["kernel_received"] >= capture["frames"] > 0
    assert capture["kernel_dropped"] >= 0
    assert capture["skipped_outgoing"] > 0          # loopback duplicates were skipped


async def test_without_filter_both_plcs_are_seen_once_each() -> None:
    site = plant_on(BASE)
    hosts = {d.host for d in site.devices[:2]}
    async with SimulatorServer(Plant(site, seed=1)):
        with LiveMonitor(bpf=None) as live:
            await _poll(site, rounds=2)
    assert _servers(live.events) >= hosts
    ours = [e for e in live.events if isinstance(e, ModbusEvent) and e.direction == "request"
            and e.flow.dst in hosts]
    assert len(ours) == 4                            # no duplicate from the outgoing copy


def test_a_bad_filter_is_refused_with_libpcap_reason() -> None:
    with pytest.raises(LiveCaptureError, match="does not compile"):
        compile_filter("host and and")


def test_an_unknown_interface_is_named_in_the_error() -> None:
    runner = CliRunner()
    result = runner.invoke(monitor_command, ["--iface", "nosuch0", "--duration", "1"])
    assert result.exit_code == 1
    assert "nosuch0" in result.output


def _traffic_in_background(site: SiteConfig, started: threading.Event,
                           done: threading.Event) -> threading.Thread:
    async def main() -> None:
        async with SimulatorServer(Plant(site, seed=1)):
            started.wait(5)
            await asyncio.sleep(0.3)
            await _poll(site)
        done.set()

    thread = threading.Thread(target=asyncio.run, args=(main(),), daemon=True)
    thread.start()
    return thread


def test_cli_stops_on_sigint_and_reports_drops(tmp_path: Path) -> None:
    site = plant_on(BASE)
    started, done = threading.Event(), threading.Event()
    traffic = _traffic_in_background(site, started, done)

    default = signal.getsignal(signal.SIGINT)

    def interrupt_when_done() -> None:
        deadline = time.monotonic() + 20
        while signal.getsignal(signal.SIGINT) is default:     # the capture is not set up yet
            if time.monotonic() > deadline:
                return                                        # --duration ends it instead
            time.sleep(0.05)
        started.set()
        if done.wait(20):
            os.kill(os.getpid(), signal.SIGINT)

    threading.Thread(target=interrupt_when_done, daemon=True).start()
    summary = tmp_path / "summary.json"
    result = CliRunner().invoke(monitor_command, [
        "--iface", "lo", "--filter", f"host {site.devices[0].host}",
        "--json-summary", str(summary), "--duration", "30"])
    traffic.join()
    if "no live capture" in result.output or "permission denied" in result.output:
        pytest.skip(result.output)
    assert result.exit_code == 0, result.output
    assert "dropped by the kernel" in result.output
    doc = json.loads(summary.read_text())
    assert doc["capture"]["interface"] == "lo"
    assert doc["functions"]["modbus/read_input_registers/request"] == 3
