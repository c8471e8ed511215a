"""Modbus/TCP servers for a simulated plant: one listener per device on its host:port, its
units answering by unit id, and a clock that ticks the plant in (sped-up) simulated time.

A small asyncio server of our own (MBAP framing + `protocol.respond`): a benchmark polls
thousands of tags through it, and pymodbus's server saturates a core well before that.
An unknown unit id is answered with exception 0x0B (gateway target device failed to
respond), so a misconfigured poller gets a prompt, clear error rather than a timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
from dataclasses import dataclass
from types import TracebackType

from isthmus.sim.errors import EndpointBindError
from isthmus.sim.identity import device_identity, read_device_identification
from isthmus.sim.plant import Plant, SimDevice
from isthmus.sim.protocol import GATEWAY_TARGET_FAILED, exception_pdu, respond

__all__ = ["ServerStats", "SimulatorServer"]

_log = logging.getLogger(__name__)
_MBAP = struct.Struct(">HHHB")


@dataclass
class ServerStats:
    connections: int = 0
    requests: int = 0
    exceptions: int = 0
    unanswered: int = 0
    errors: int = 0
    ticks: int = 0


class _DeviceEndpoint:
    """One device's listener and the connections it accepted."""

    def __init__(self, device: SimDevice, plant: Plant, stats: ServerStats) -> None:
        self.device = device
        self.plant = plant
        self.stats = stats
        self.identity = device_identity(plant.site, device.name)     # answers FC 43/14
        self._server: asyncio.Server | None = None
        self._connections: dict[asyncio.Task[None], asyncio.StreamWriter] = {}

    @property
    def is_open(self) -> bool:
        return self._server is not None

    async def open(self) -> None:
        host, port = self.device.host, self.device.port
        try:
            self._server = await asyncio.start_server(self._serve, host, port,
                                                      reuse_address=True)
        except OSError as exc:
            raise EndpointBindError(
                exc.errno, f"device {self.device.name}: cannot listen on {host}:{port}: "
                f"{exc.strerror or exc}") from exc

    async def close(self) -> None:
        if self._server is None:
            return
        self._server.close()
        tasks = list(self._connections)
        for writer in self._connections.values():
            writer.close()                        # its handler sees end of stream and ends
        await asyncio.gather(*tasks, return_exceptions=True)
        await self._server.wait_closed()
        self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections[task] = writer
        self.stats.connections += 1
        try:
            await self._converse(reader, writer)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass                                  # the client went away
        except Exception:                         # task boundary: log, count, drop the client
            self.stats.errors += 1
            _log.exception("device %s: connection failed", self.device.name)
        finally:
            self._connections.pop(task, None)
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    async def _converse(self, reader: asyncio.StreamReader,
                        writer: asyncio.StreamWriter) -> None:
        while True:
            header = await reader.readexactly(_MBAP.size)
            transaction, protocol, length, unit_id = _MBAP.unpack(header)
            if protocol != 0 or not 2 <= length <= 254:
                _log.info("device %s: not a Modbus/TCP frame (protocol %d, length %d); "
                          "closing", self.device.name, protocol, length)
                return
            pdu = await reader.readexactly(length - 1)
            reply = self._answer(unit_id, pdu)
            if reply is None:
                continue
            writer.write(_MBAP.pack(transaction, 0, len(reply) + 1, unit_id) + reply)
            await writer.drain()

    def _answer(self, unit_id: int, pdu: bytes) -> bytes | None:
        self.stats.requests += 1
        unit = self.device.units.get(unit_id)
        if unit is None:
            self.stats.exceptions += 1
            return exception_pdu(pdu[0], GATEWAY_TARGET_FAILED)
        if self.plant.silent(self.device.name, unit_id):
            self.stats.unanswered += 1
            return None
        program = self.plant.configuration_reply(self.device.name, unit_id, pdu)
        if program is not None:                  # the declared program checksum register
            return program
        if pdu[:1] == b"\x2b":                   # encapsulated interface: device identity
            return read_device_identification(
                pdu, {**self.identity, **self.plant.identity_overrides(self.device.name)})
        reply = respond(unit, pdu)
        if reply[0] & 0x80:
            self.stats.exceptions += 1
        return reply


class SimulatorServer:
    """Serves `plant` over Modbus/TCP while ticking it: every `tick_s` of wall time the
    plant advances `tick_s × speed` simulated seconds.

    Use as `async with SimulatorServer(plant) as server: await server.run_until(stop)`.
    """

    def __init__(self, plant: Plant, *, speed: float = 1.0, tick_s: float = 0.1) -> None:
        if not speed > 0 or not tick_s > 0:
            raise ValueError(f"speed {speed} and tick_s {tick_s} must both be positive")
        self.plant = plant
        self.speed = speed
        self.tick_s = tick_s
        self.stats = ServerStats()
        self._endpoints = [_DeviceEndpoint(d, plant, self.stats)
                           for d in plant.devices.values()]

    @property
    def endpoints(self) -> list[tuple[str, int]]:
        """(host, port) of every device the server listens for."""
        return [(e.device.host, e.device.port) for e in self._endpoints]

    async def __aenter__(self) -> SimulatorServer:
        try:
            for endpoint in self._endpoints:
                if not self.plant.disconnected(endpoint.device.name):
                    await endpoint.open()
        except BaseException:
            await self.close()
            raise
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        await self.close()

    async def close(self) -> None:
        for endpoint in self._endpoints:
            await endpoint.close()

    async def tick(self) -> None:
        """Advance the plant one tick and open or close listeners that a scenario's
        disconnect fault governs."""
        self.plant.step(self.tick_s * self.speed)
        self.stats.ticks += 1
        for endpoint in self._endpoints:
            closed = self.plant.disconnected(endpoint.device.name)
            if closed and endpoint.is_open:
                _log.info("device %s: listener closed by scenario", endpoint.device.name)
                await endpoint.close()
            elif not closed and not endpoint.is_open:
                try:
                    await endpoint.open()
                except EndpointBindError as exc:      # retried next tick
                    _log.warning("%s", exc)

    async def run_until(self, stop: asyncio.Event) -> None:
        """Tick on wall-clock time until `stop` is set. Ticks that fall behind are not
        made up: simulated time then runs slower than `speed` rather than jumping."""
        loop = asyncio.get_running_loop()
        deadline = loop.time()
        while not stop.is_set():
            deadline += self.tick_s
            delay = deadline - loop.time()
            if delay > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), delay)
                if stop.is_set():
                    return
            else:
                deadline = loop.time()
                await asyncio.sleep(0)            # let requests in between late ticks
            await self.tick()
