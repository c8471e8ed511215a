"""The health engine inside the running gateway: real simulator over Modbus, the health index
written to the historian as a signed derived tag."""

from __future__ import annotations

from pathlib import Path

from isthmus.cli.running import embedded_site_path
from isthmus.config import load_site
from isthmus.config.schema import SiteConfig
from isthmus.gateway import namespace_tags
from isthmus.historian import open_historian
from isthmus.model import now_ns
from tests.sim.conftest import relocate
from tests.test_gateway import run_gateway

MOTOR = "acme/lyon/packaging/line1/conveyor/motor"


def _site_with_fast_steps() -> SiteConfig:
    site = relocate(load_site(embedded_site_path()), "127.0.62.")
    data = site.model_dump(mode="json", by_alias=True)
    (asset,) = data["health"]["assets"]
    asset["degradation"].update({"resolution": 1.0, "window": 6.0})
    return SiteConfig.model_validate(data)


def test_the_gateway_registers_the_health_figures() -> None:
    paths = {t.path for t in namespace_tags(load_site(embedded_site_path()))}
    assert {f"{MOTOR}/health_index", f"{MOTOR}/health_rul_hours"} <= paths


async def test_gateway_writes_a_signed_health_index(tmp_path: Path) -> None:
    site = _site_with_fast_steps()
    historian = open_historian(f"sqlite:///{tmp_path / 'h.db'}")
    gateway = await run_gateway(site, historian, tmp_path, 4.0)
    # with the ledger on, an unsigned batch of figures would have been quarantined
    assert gateway.ledger is not None
    assert gateway.report.sink.quarantined_batches == 0
    index = historian.raw(f"{MOTOR}/health_index", 0, now_ns() + 1)
    assert len(index) > 0 and all(0.0 <= v <= 100.0 for v in index.value.tolist())
    historian.close()
