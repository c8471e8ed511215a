"""The gateway in one process: simulator → Modbus → bus → historian, retention, restarts,
a historian that is down at start, and batches the historian rejects."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from isthmus.bus import Bus
from isthmus.cli.running import embedded_site_path
from isthmus.config import load_site
from isthmus.config.schema import SiteConfig
from isthmus.gateway import Gateway, supervise
from isthmus.historian import BufferedHistorian, open_historian
from isthmus.model import Event, EventKind, SampleBatch, now_ns
from isthmus.sim import Plant, SimulatorServer
from isthmus.sinks import HistorianSink
from tests.sim.conftest import relocate


def demo_site(host_base: str, **historian: object) -> SiteConfig:
    site = relocate(load_site(embedded_site_path()), host_base)
    if historian:
        site = site.model_copy(update={"historian": site.historian.model_copy(update=historian)})
    return site


async def run_gateway(site: SiteConfig, historian, data_dir: Path, seconds: float, *,
                      plant: Plant | None = None, **server_options: float) -> Gateway:
    """A gateway for `site` run for `seconds` against `plant` (the site's, seed 1, by
    default) served by a simulator with `server_options`; returned once stopped."""
    stop = asyncio.Event()
    async with SimulatorServer(plant or Plant(site, seed=1), **server_options) as server:
        sim_stop = asyncio.Event()
        sim = asyncio.create_task(server.run_until(sim_stop))
        gateway = Gateway(site, historian, data_dir=data_dir)
        asyncio.get_running_loop().call_later(seconds, stop.set)
        await gateway.run(stop)
        sim_stop.set()
        await sim
    return gateway


async def test_gateway_writes_every_tag_and_all_it_accepted(tmp_path: Path) -> None:
    site = demo_site("127.0.33.")
    historian = open_historian(f"sqlite:///{tmp_path / 'h.db'}")
    gateway = await run_gateway(site, historian, tmp_path, 3.0)
    report = gateway.report
    assert report.samples_published > 0
    assert report.sink.samples_written == report.samples_published == historian.sample_count()
    latest = historian.latest([t.path for t in site.tags()])
    assert len(latest) == len(site.tags())
    events = historian.events(0, now_ns() + 1)
    assert any("gateway started" in e.message for e in events)
    historian.close()


async def test_retention_removes_history_older_than_configured(tmp_path: Path) -> None:
    site = demo_site("127.0.34.", retention_days=1)
    historian = open_historian(f"sqlite:///{tmp_path / 'h.db'}")
    registry = historian.register_tags(site.tags())
    tag_id = registry.id_of(site.tags()[0].path)
    old = now_ns() - 3 * 86_400 * 10**9
    historian.write(SampleBatch.of([tag_id] * 3, [old, old + 1, old + 2], [1.0, 2.0, 3.0]))
    await run_gateway(site, historian, tmp_path, 2.0)
    assert len(historian.raw(site.tags()[0].path, old - 1, old + 10)) == 0
    assert len(historian.raw(site.tags()[0].path, now_ns() - 60 * 10**9, now_ns())) > 0
    historian.close()


async def test_gateway_starts_on_a_cached_namespace_while_the_historian_is_down(
        tmp_path: Path) -> None:
    site = demo_site("127.0.35.")
    db = tmp_path / "h.db"
    first = open_historian(f"sqlite:///{db}")
    await run_gateway(site, first, tmp_path, 1.5)
    written = first.sample_count()
    first.close()
    # the historian's URL now points at a folder that cannot be a database: unavailable
    blocked = tmp_path / "blocked"
    blocked.mkdir()
    down = BufferedHistorian(f"sqlite:///{blocked}", tmp_path / "buffer", retry_interval_s=0.2)
    gateway = await run_gateway(site, down, tmp_path, 2.0)
    assert gateway.report.samples_published > 0
    assert down.stats().backlog_batches > 0, "samples must wait in the buffer"
    down.close()
    assert written > 0


async def test_sink_quarantines_a_batch_the_historian_rejects(tmp_path: Path) -> None:
    historian = open_historian(f"sqlite:///{tmp_path / 'h.db'}")
    registry = historian.register_tags(load_site(embedded_site_path()).tags()[:1])
    (known_id, _), = list(registry)
    bus = Bus()
    sink = HistorianSink(historian, bus.subscribe("historian", durable=True),
                         quarantine_dir=tmp_path / "quarantine")
    task = asyncio.create_task(sink.run())
    await bus.publish(SampleBatch.of([known_id], [now_ns()], [1.0]))
    await asyncio.sleep(0.1)  # let the sink write the good batch on its own
    await bus.publish(SampleBatch.of([9999], [now_ns()], [2.0]))
    await bus.close()
    stats = await task
    assert stats.samples_written == 1 and stats.quarantined_samples == 1
    assert len(list((tmp_path / "quarantine").glob("*.npz"))) == 1
    events = historian.events(0, now_ns() + 1, kind=EventKind.SYSTEM.value)
    assert any("quarantined" in e.message for e in events)
    historian.close()


async def test_supervisor_restarts_a_crashed_task_and_reports_it() -> None:
    runs: list[int] = []
    events: list[Event] = []

    async def flaky() -> None:
        runs.append(1)
        if len(runs) < 3:
            raise RuntimeError("boom")

    async def report(event: Event) -> None:
        events.append(event)

    await asyncio.wait_for(supervise("flaky", flaky, report, max_backoff_s=0.01), 5)
    assert len(runs) == 3 and len(events) == 2
    assert "RuntimeError: boom" in events[0].message


@pytest.fixture(autouse=True)
def _fast_supervisor(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("isthmus.gateway.random.random", lambda: 0.0)


FAULTS = """
name: outage-test
faults:
  - kind: comm_loss
    target: utilities/water/storage/tank
    start: 1s
    duration: 2s
    mode: silent
  - kind: comm_loss
    target: energy-meter
    start: 1s
    duration: 2s
    mode: disconnect
"""


async def test_a_silent_unit_and_a_dropped_link_become_bad_quality_and_events_only(
        tmp_path: Path) -> None:
    from isthmus.model import Quality, is_bad, is_good
    from isthmus.sim import parse_scenario

    site = relocate(load_site(embedded_site_path()), "127.0.36.")
    data = site.model_dump(mode="json")
    for device in data["devices"]:
        device["timeout"] = 0.3
        device["scan_rate"] = 0.5
    site = SiteConfig.model_validate(data)
    historian = open_historian(f"sqlite:///{tmp_path / 'h.db'}")
    plant = Plant(site, seed=2, scenario=parse_scenario(FAULTS))
    gateway = await run_gateway(site, historian, tmp_path, 10.0, plant=plant)
    end = now_ns() + 1

    def qualities(path: str) -> list[int]:
        return [int(q) for q in historian.raw(f"acme/lyon/{path}", 0, end).quality]

    tank = qualities("utilities/water/storage/tank/level")
    assert any(is_bad(q) for q in tank), "the silent unit's tags must turn bad"
    assert is_good(tank[-1]), "and good again once it answers"
    pump = qualities("utilities/water/pumping/pump/pressure")
    assert all(is_good(q) for q in pump), "the other unit on the same link keeps flowing"
    meter = qualities("utilities/power/main/meter/kw")
    assert any(q in (Quality.BAD_NOT_CONNECTED, Quality.BAD_COMMUNICATION_ERROR,
                     Quality.BAD_TIMEOUT) for q in meter)
    assert is_good(meter[-1])
    states = [e.data.get("state") for e in historian.events(0, end)]
    assert states.count("unit_down") == 1 and states.count("unit_up") == 1, states
    assert gateway.report.connector_restarts == 0
    historian.close()


async def test_gateway_signs_every_batch_into_the_ledger_across_a_restart(
        tmp_path: Path) -> None:
    from isthmus.historian import LedgerHistorian
    from isthmus.integrity.verify import verify_ledger

    site = demo_site("127.0.37.")
    historian = open_historian(f"sqlite:///{tmp_path / 'h.db'}")
    first = await run_gateway(site, historian, tmp_path, 2.0)
    second = await run_gateway(site, historian, tmp_path, 2.0)  # same key, sequences go on
    for gateway in (first, second):
        assert gateway.report.sink.quarantined_batches == 0
        assert gateway.report.sink.ledger_leaves > 0
        assert gateway.report.sink.checkpoints >= 1
    assert second.ledger is not None
    keys = {second.ledger.gateway_id: second.ledger.keys[second.ledger.gateway_id]}
    assert second.ledger.gateway_id == "acme-lyon-gw"
    assert (tmp_path / "identity" / "gateway.vkey").read_text().startswith("acme-lyon-gw+")
    assert isinstance(historian, LedgerHistorian)
    report = verify_ledger(historian, keys)
    assert report.ok, report.findings
    assert report.leaves == first.report.sink.ledger_leaves + second.report.sink.ledger_leaves
    assert report.samples == historian.sample_count()
    assert not historian.events(0, now_ns() + 1, kind=EventKind.INTEGRITY.value)
    historian.close()
