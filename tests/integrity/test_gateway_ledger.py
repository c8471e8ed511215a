"""The ledger inside a running gateway: the tag map and each retention run are signed log
entries, so `verify` reports the policy's deletions as retention; every scheduled checkpoint
is handed to the site's witnesses."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np

from isthmus.bus import Bus
from isthmus.historian import LedgerHistorian, open_historian
from isthmus.integrity.checkpoint import Checkpoint
from isthmus.integrity.identity import GatewayIdentity
from isthmus.integrity.ledger import BatchSigner, Ledger
from isthmus.integrity.verify import verify_ledger
from isthmus.model import EventKind, SampleBatch, now_ns
from isthmus.sinks import HistorianSink
from tests.integrity.conftest import GATEWAY, open_ledger_historian, poll, tag
from tests.test_gateway import demo_site, run_gateway

DAY = 86_400 * 10**9


async def test_gateway_signs_retention_and_exports_checkpoints(tmp_path: Path) -> None:
    witness = tmp_path / "witness" / "checkpoint.note"
    site = demo_site("127.0.38.", retention_days=1, witnesses=[f"file:{witness}"])
    historian = open_historian(f"sqlite:///{tmp_path / 'h.db'}")
    assert isinstance(historian, LedgerHistorian)
    registry = historian.register_tags(site.tags())
    identity = GatewayIdentity.load_or_create(tmp_path / "identity", "acme-lyon-gw")
    old = now_ns() - 3 * DAY  # a signed leaf that retention will remove
    ids = np.array([registry.id_of(site.tags()[0].path)] * 3, np.int32)
    batch = SampleBatch.of(ids, [old, old + 1, old + 2], [1.0, 2.0, 3.0])
    ledger = Ledger(historian, identity)
    ledger.store(ledger.admit([BatchSigner(identity).sign("history", batch)]).accepted)
    ledger.checkpoint()

    gateway = await run_gateway(site, historian, tmp_path, 2.0)
    assert gateway.report.sink.checkpoints_exported == gateway.report.sink.checkpoints >= 1
    report = verify_ledger(historian, {identity.gateway_id: identity.verifier})
    assert report.ok, [f for f in report.findings if f.failure]
    assert report.policy_entries >= 2  # the tag map and at least one retention run
    retained = [f for f in report.findings if f.kind == "retention"]
    assert [(f.leaf, f.samples) for f in retained] == [(0, 3)]
    head = Checkpoint.open(witness.read_text(), [identity.verifier])
    assert head.size == historian.ledger_checkpoints()[-1].size
    historian.close()


async def test_sink_reports_a_witness_that_keeps_failing(tmp_path: Path) -> None:
    historian = open_ledger_historian(f"sqlite:///{tmp_path / 'h.db'}")
    registry = historian.register_tags([tag(f"t{i}") for i in range(3)])
    identity = GatewayIdentity.generate(GATEWAY)
    bus = Bus()
    good = tmp_path / "w.note"
    sink = HistorianSink(historian, bus.subscribe("historian", durable=True),
                         quarantine_dir=tmp_path / "q", ledger=Ledger(historian, identity),
                         witnesses=[f"file:{good}", f"file:{tmp_path}"])  # a folder: fails
    task = asyncio.create_task(sink.run())
    await bus.publish(BatchSigner(identity).sign("plc", poll(registry, 0)))
    await bus.close()
    stats = await task
    assert (stats.checkpoints, stats.checkpoints_exported) == (1, 1)
    assert good.read_text().startswith(f"{GATEWAY}\n1\n")
    (event,) = historian.events(0, now_ns() + 1, kind=EventKind.INTEGRITY.value)
    assert "not handed to witness" in event.message and str(tmp_path) in event.message
    historian.close()
