"""The maintenance webhook against a real HTTP server on 127.0.0.1: retries with backoff,
order, idempotency keys, refusals, and an outbox that survives a restart."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from isthmus.analytics.maintenance import Outbox, WebhookDelivery, event_id
from isthmus.bus import Bus
from isthmus.config.efficiency import WebhookConfig
from isthmus.model import Event, EventKind, Severity

T0 = 1_700_006_400_000_000_000


@dataclass
class Script:
    """Status codes to answer, in order (then 200), and the requests received."""

    statuses: list[int] = field(default_factory=list)
    received: list[tuple[str, dict[str, object]]] = field(default_factory=list)


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        script: Script = self.server.script  # type: ignore[attr-defined]
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        status = script.statuses.pop(0) if script.statuses else 200
        if status == 200:
            script.received.append((self.headers["Idempotency-Key"], body))
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


def serve(script: Script, port: int = 0) -> HTTPServer:
    server = HTTPServer(("127.0.0.1", port), _Handler)
    server.script = script  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def script() -> Iterator[tuple[Script, str]]:
    script = Script()
    server = serve(script)
    yield script, f"http://127.0.0.1:{server.server_address[1]}/cmms"
    server.shutdown()
    server.server_close()


def event(n: int, severity: Severity = Severity.HIGH) -> Event:
    return Event(T0 + n, EventKind.ALARM, severity, f"problem {n}", source="spc",
                 asset="acme/lyon/packaging/line1/filler/filler",
                 tag="acme/lyon/packaging/line1/filler/filler/fill_weight",
                 data={"spc": {"rule": 1}})


def delivery(url: str, outbox: Outbox, **config: object) -> WebhookDelivery:
    settings = {"url": url, "backoff": 0.01, "max_backoff": 0.05, "retries": 2, **config}
    return WebhookDelivery(WebhookConfig.model_validate(settings), outbox, site="acme/lyon")


async def until(condition: object, timeout_s: float = 10.0) -> None:
    async with asyncio.timeout(timeout_s):
        while not condition():  # type: ignore[operator]
            await asyncio.sleep(0.01)


async def test_failures_are_retried_and_requests_arrive_in_order(
        script: tuple[Script, str], tmp_path: Path) -> None:
    server, url = script
    server.statuses = [503, 502, 429]
    sender = delivery(url, Outbox(tmp_path / "outbox.db"))
    for n in range(3):
        await sender.submit(event(n))
    stop = asyncio.Event()
    task = asyncio.create_task(sender.deliver(stop))
    await until(lambda: sender.stats.delivered == 3)
    stop.set()
    await task
    assert [body["problem"] for _, body in server.received] == [f"problem {n}" for n in range(3)]
    assert [key for key, _ in server.received] == [event_id(event(n)) for n in range(3)]
    assert sender.stats.failed_attempts == 3
    assert len(sender.outbox) == 0


async def test_the_body_is_a_work_request(script: tuple[Script, str], tmp_path: Path) -> None:
    server, url = script
    sender = delivery(url, Outbox(tmp_path / "outbox.db"))
    await sender.submit(event(7, Severity.CRITICAL))
    stop = asyncio.Event()
    task = asyncio.create_task(sender.deliver(stop))
    await until(lambda: sender.stats.delivered == 1)
    stop.set()
    await task
    (_, body), = server.received
    assert body["asset"] == "acme/lyon/packaging/line1/filler/filler"
    assert body["problem"] == "problem 7"
    assert body["priority"] == {"level": 1, "name": "emergency"}
    assert body["occurred_at"] == "2023-11-15T00:00:00.000Z"
    assert body["evidence"]["data"] == {"spc": {"rule": 1}}  # type: ignore[index]
    assert "filling process" in str(body["suggested_action"])


async def test_requests_survive_a_restart_while_the_webhook_is_down(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port nobody listens on yet
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/cmms"
    first = delivery(url, Outbox(tmp_path / "outbox.db"))
    for n in range(2):
        await first.submit(event(n))
    stop = asyncio.Event()
    task = asyncio.create_task(first.deliver(stop))
    await until(lambda: first.stats.failed_attempts >= 2)
    stop.set()
    await task
    first.outbox.close()  # the gateway stops

    script = Script()
    server = serve(script, port)
    try:
        second = delivery(url, Outbox(tmp_path / "outbox.db"))
        assert len(second.outbox) == 2
        stop = asyncio.Event()
        task = asyncio.create_task(second.deliver(stop))
        await until(lambda: second.stats.delivered == 2)
        stop.set()
        await task
    finally:
        server.shutdown()
        server.server_close()
    assert [body["problem"] for _, body in script.received] == ["problem 0", "problem 1"]


async def test_a_refused_request_is_set_aside_and_the_next_goes_out(
        script: tuple[Script, str], tmp_path: Path) -> None:
    server, url = script
    server.statuses = [422]
    sender = delivery(url, Outbox(tmp_path / "outbox.db"))
    await sender.submit(event(0))
    await sender.submit(event(1))
    stop = asyncio.Event()
    task = asyncio.create_task(sender.deliver(stop))
    await until(lambda: sender.stats.delivered == 1)
    stop.set()
    await task
    assert [body["problem"] for _, body in server.received] == ["problem 1"]
    ((rejected_id, reason),) = sender.outbox.rejected()
    assert rejected_id == event_id(event(0)) and "HTTP 422" in reason


async def test_only_severe_events_are_queued_and_each_once(tmp_path: Path) -> None:
    sender = delivery("http://127.0.0.1:9/", Outbox(tmp_path / "outbox.db"),
                      min_severity="high")
    assert not await sender.submit(event(0, Severity.MEDIUM))
    assert await sender.submit(event(1, Severity.HIGH))
    assert not await sender.submit(event(1, Severity.HIGH))  # same event again
    assert len(sender.outbox) == 1


async def test_events_from_the_bus_are_delivered(script: tuple[Script, str],
                                                 tmp_path: Path) -> None:
    server, url = script
    bus = Bus()
    sender = delivery(url, Outbox(tmp_path / "outbox.db"))
    task = asyncio.create_task(sender.run(bus.subscribe("webhook", durable=True)))
    for n in range(3):
        await bus.publish(event(n))
    await until(lambda: len(server.received) == 3)
    await bus.close()
    stats = await task
    assert stats.delivered == 3
