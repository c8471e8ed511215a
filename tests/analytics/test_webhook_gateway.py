"""The efficiency analytics and the maintenance webhook wired into a running gateway:
simulator → Modbus → gateway → historian, with a real HTTP receiver on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from isthmus.config.schema import SiteConfig
from isthmus.historian import open_historian
from tests.test_gateway import demo_site, run_gateway


class _Receiver(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.received.append(body)  # type: ignore[attr-defined]
        self.send_response(201)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[tuple[list[dict[str, object]], str]]:
    server = HTTPServer(("127.0.0.1", 0), _Receiver)
    server.received = []  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.received, f"http://127.0.0.1:{server.server_address[1]}/work-requests"  # type: ignore[attr-defined]
    server.shutdown()
    server.server_close()


async def test_gateway_posts_events_and_registers_derived_tags(
        receiver: tuple[list[dict[str, object]], str], tmp_path: Path) -> None:
    received, url = receiver
    data = demo_site("127.0.34.").model_dump(mode="json")
    data["maintenance"] = {"webhook": {"url": url, "min_severity": "info", "backoff": 0.05}}
    site = SiteConfig.model_validate(data)
    historian = open_historian(f"sqlite:///{tmp_path / 'h.db'}")
    gateway = await run_gateway(site, historian, tmp_path, 3.0)
    for _ in range(100):  # the outbox is drained before the bus closes, or kept
        if received:
            break
        await asyncio.sleep(0.02)
    assert any("gateway started" in str(body["problem"]) for body in received)
    registry = historian.registry()
    assert "acme/lyon/packaging/line1/oee/shift/oee" in registry
    assert "acme/lyon/site/main/energy/interval/demand_kw" in registry
    assert "acme/lyon/packaging/line1/filler/filler/fill_weight_cpk" in registry
    assert gateway.report.sink.samples_written == gateway.report.samples_published
    historian.close()
