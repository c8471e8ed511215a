"""Fixtures for the Modbus connector tests: real pymodbus servers on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from isthmus.config.schema import SiteConfig
from tests.connectors.modbus.modbus_test_server import ModbusTestServer, image_of


@pytest.fixture
async def modbus_server() -> AsyncIterator[Callable[..., Any]]:
    """`await modbus_server(site, values=…, dead=…)` starts a server for a site's units."""
    started: list[ModbusTestServer] = []

    async def start(site: SiteConfig, *, values: dict[str, float] | None = None,
                    dead: set[int] | None = None, port: int | None = None,
                    host: str = "127.0.0.1") -> ModbusTestServer:
        server = ModbusTestServer(host, port or site.devices[0].port, image_of(site, values),
                                  set(dead or ()))
        await server.start()
        started.append(server)
        return server

    yield start
    for server in started:
        await server.stop()


