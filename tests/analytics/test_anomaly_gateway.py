"""The anomaly engine inside the running gateway: real simulator over Modbus, scores written
to the historian as a signed derived tag, events stored."""

from __future__ import annotations

from pathlib import Path

from isthmus.cli.running import embedded_site_path
from isthmus.config import load_site
from isthmus.config.schema import SiteConfig
from isthmus.historian import open_historian
from isthmus.model import EventKind, now_ns
from tests.sim.conftest import relocate
from tests.test_gateway import run_gateway

CONVEYOR = "packaging/line1/conveyor/motor/"


def _site_with_anomaly() -> SiteConfig:
    site = relocate(load_site(embedded_site_path()), "127.0.61.")
    data = site.model_dump(mode="json", by_alias=True)
    data["analytics"] = {"anomaly": [
        {"name": "conveyor", "method": "robust_z", "train": {"samples": 3}, "window": 10,
         "tags": [CONVEYOR + "speed", CONVEYOR + "current"]}]}
    return SiteConfig.model_validate(data)


async def test_gateway_writes_signed_anomaly_scores_and_training_event(tmp_path: Path) -> None:
    site = _site_with_anomaly()
    historian = open_historian(f"sqlite:///{tmp_path / 'h.db'}")
    gateway = await run_gateway(site, historian, tmp_path, 4.0)
    score_path = f"acme/lyon/{CONVEYOR}conveyor_anomaly_score"
    # with the ledger on, an unsigned score batch would have been quarantined
    assert gateway.ledger is not None
    assert gateway.report.sink.quarantined_batches == 0
    assert len(historian.raw(score_path, 0, now_ns() + 1)) > 0
    events = historian.events(0, now_ns() + 1, kind=EventKind.SYSTEM.value)
    assert any("anomaly group conveyor: trained on 3 samples" in e.message for e in events)
    historian.close()
