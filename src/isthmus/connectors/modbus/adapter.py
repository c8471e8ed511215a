"""The only module that imports pymodbus: a thin async client whose reads return numpy
arrays and whose failures are always one of the errors in `errors`.

Every `connect()` builds a fresh pymodbus client (a half-dead client object is never reused),
and pymodbus's own reconnect and auto-disconnect logic is switched off: the link scheduler
owns those decisions.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import numpy as np
import numpy.typing as npt
from pymodbus import exceptions as pm_exc
from pymodbus.client import AsyncModbusTcpClient

from isthmus.config.schema import RegisterTable
from isthmus.connectors.modbus.errors import (
    ModbusConnectionError,
    ModbusError,
    ModbusExceptionResponse,
    ModbusProtocolError,
    ModbusTimeout,
)

__all__ = ["PYMODBUS_ERRORS", "ModbusClientAdapter", "map_pymodbus_error"]

#: Every exception class pymodbus defines, mapped to ours. A test walks
#: `pymodbus.exceptions` and fails when pymodbus grows a class missing here.
PYMODBUS_ERRORS: dict[type[Exception], type[ModbusError]] = {
    pm_exc.ModbusException: ModbusProtocolError,
    pm_exc.ModbusIOException: ModbusProtocolError,
    pm_exc.ParameterException: ModbusProtocolError,
    pm_exc.NoSuchIdException: ModbusProtocolError,
    pm_exc.NotImplementedException: ModbusProtocolError,
    pm_exc.ConnectionException: ModbusConnectionError,
    pm_exc.MessageRegisterException: ModbusProtocolError,
}

RegisterArray = npt.NDArray[np.uint16]
BitArray = npt.NDArray[np.uint8]


def map_pymodbus_error(exc: BaseException, where: str) -> ModbusError:
    """Our error for an exception raised inside pymodbus or the socket layer."""
    if isinstance(exc, ModbusError):
        return exc
    if isinstance(exc, TimeoutError):
        return ModbusTimeout(f"{where}: no response ({exc or 'timeout'})")
    if isinstance(exc, OSError):
        return ModbusConnectionError(f"{where}: {exc.__class__.__name__}: {exc}")
    for cls in type(exc).__mro__:
        ours = PYMODBUS_ERRORS.get(cls)
        if ours is not None:
            return ours(f"{where}: {exc}")
    return ModbusProtocolError(f"{where}: unexpected {exc.__class__.__name__}: {exc}")


def _reraise_swallowed_cancel() -> None:
    """pymodbus awaits through `asyncio.wait_for`, which on Python 3.11 can swallow a
    cancellation that lands as the inner call completes; the request is still counted on the
    task (`cancelling()`), so raise it again: a stop must always stop the poller."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


class ModbusClientAdapter:
    """One Modbus/TCP connection to `host:port`. Not safe for concurrent requests: the
    link scheduler serialises them."""

    def __init__(self, host: str, port: int, *, timeout: float) -> None:
        self.host = host
        self.port = port
        self.timeout = timeout
        self._client: AsyncModbusTcpClient | None = None
        self._lost: asyncio.Future[None] | None = None
        self.clients_created = 0

    @property
    def where(self) -> str:
        return f"modbus {self.host}:{self.port}"

    @property
    def connected(self) -> bool:
        return (self._client is not None and self._client.connected
                and self._lost is not None and not self._lost.done())

    async def connect(self) -> None:
        """Open a connection with a fresh client object; raise ModbusConnectionError."""
        await self.close()
        loop = asyncio.get_running_loop()
        lost: asyncio.Future[None] = loop.create_future()

        def on_connect_change(up: bool) -> None:
            if up or lost.done():
                return
            lost.set_result(None)
            # Fail the request in flight now rather than after its timeout. pymodbus 3.16
            # awaits `ctx.response_future` and lets anything but a timeout propagate.
            pending = getattr(getattr(client, "ctx", None), "response_future", None)
            if isinstance(pending, asyncio.Future) and not pending.done():
                pending.set_exception(pm_exc.ConnectionException("connection lost"))

        # A generous client-side timeout: each read applies its own, shorter one.
        client = AsyncModbusTcpClient(
            self.host, port=self.port, timeout=max(self.timeout, 1.0) * 4, retries=0,
            reconnect_delay=0, trace_connect=on_connect_change)
        client.set_max_no_responses(2**31)  # a dead unit must not close the shared link
        self.clients_created += 1
        self._client, self._lost = client, lost
        try:
            ok = await asyncio.wait_for(client.connect(), self.timeout)
            _reraise_swallowed_cancel()
        except (TimeoutError, OSError, pm_exc.ModbusException) as exc:
            await self.close()
            raise map_pymodbus_error(exc, self.where) from exc
        if not ok or not client.connected:
            await self.close()
            raise ModbusConnectionError(f"{self.where}: connection refused or unreachable")

    async def close(self) -> None:
        client, self._client = self._client, None
        if self._lost is not None and not self._lost.done():
            self._lost.cancel()
        self._lost = None
        if client is not None:
            client.close()
            await asyncio.sleep(0)  # let the transport's close callbacks run

    async def read(self, table: RegisterTable, address: int, count: int, unit: int, *,
                   timeout: float | None = None) -> RegisterArray | BitArray:
        """Read `count` registers (or bits) of `table` from `address` on `unit`."""
        if table == RegisterTable.COIL:
            return await self.read_coils(address, count, unit, timeout=timeout)
        if table == RegisterTable.DISCRETE_INPUT:
            return await self.read_discrete_inputs(address, count, unit, timeout=timeout)
        if table == RegisterTable.INPUT_REGISTER:
            return await self.read_input_registers(address, count, unit, timeout=timeout)
        return await self.read_holding_registers(address, count, unit, timeout=timeout)

    async def read_coils(self, address: int, count: int, unit: int, *,
                         timeout: float | None = None) -> BitArray:
        return await self._read_bits("read_coils", address, count, unit, timeout)

    async def read_discrete_inputs(self, address: int, count: int, unit: int, *,
                                   timeout: float | None = None) -> BitArray:
        return await self._read_bits("read_discrete_inputs", address, count, unit, timeout)

    async def read_holding_registers(self, address: int, count: int, unit: int, *,
                                     timeout: float | None = None) -> RegisterArray:
        return await self._read_words("read_holding_registers", address, count, unit, timeout)

    async def read_input_registers(self, address: int, count: int, unit: int, *,
                                   timeout: float | None = None) -> RegisterArray:
        return await self._read_words("read_input_registers", address, count, unit, timeout)

    async def _read_bits(self, method: str, address: int, count: int, unit: int,
                         timeout: float | None) -> BitArray:
        where = f"{self.where} unit {unit} {method}({address}, {count})"
        response = await self._execute(method, address, count, unit, timeout, where)
        bits = getattr(response, "bits", None)
        if bits is None or len(bits) < count:
            raise ModbusProtocolError(f"{where}: response holds {len(bits or [])} bits, "
                                      f"expected {count}")
        return np.fromiter(bits[:count], dtype=np.uint8, count=count)

    async def _read_words(self, method: str, address: int, count: int, unit: int,
                          timeout: float | None) -> RegisterArray:
        where = f"{self.where} unit {unit} {method}({address}, {count})"
        response = await self._execute(method, address, count, unit, timeout, where)
        registers = getattr(response, "registers", None)
        if registers is None or len(registers) != count:
            raise ModbusProtocolError(f"{where}: response holds "
                                      f"{len(registers or [])} registers, expected {count}")
        return np.array(registers, dtype=np.uint16)

    async def read_device_identification(self, unit: int, *, read_code: int = 2,
                                         timeout: float | None = None) -> dict[int, bytes]:
        """FC 43 / MEI 14: the device identification objects of `read_code` (1 basic,
        2 basic + regular), following `more follows` until the device has sent them all."""
        objects: dict[int, bytes] = {}
        next_id = 0
        for _ in range(256):                    # a device that never finishes is an error
            where = f"{self.where} unit {unit} read_device_information({read_code}, {next_id})"
            response = await self._call(self._identification(read_code, next_id, unit),
                                        timeout, where)
            information = getattr(response, "information", None)
            if not isinstance(information, dict):
                raise ModbusProtocolError(f"{where}: response holds no objects")
            objects.update({int(k): bytes(v) if not isinstance(v, list) else b"".join(v)
                            for k, v in information.items()})
            if not getattr(response, "more_follows", 0) or not information:
                return objects
            next_id = int(getattr(response, "next_object_id", 0))
        raise ModbusProtocolError(f"{self.where} unit {unit}: device identification never "
                                  "ended (more follows 256 times)")

    @staticmethod
    def _identification(read_code: int, first: int,
                        unit: int) -> Callable[[AsyncModbusTcpClient], Awaitable[Any]]:
        def request(client: AsyncModbusTcpClient) -> Awaitable[Any]:
            return client.read_device_information(read_code=read_code, object_id=first,
                                                  device_id=unit)
        return request

    async def _execute(self, method: str, address: int, count: int, unit: int,
                       timeout: float | None, where: str) -> Any:
        def request(client: AsyncModbusTcpClient) -> Awaitable[Any]:
            call: Callable[..., Awaitable[Any]] = getattr(client, method)
            return call(address, count=count, device_id=unit)

        return await self._call(request, timeout, where)

    async def _call(self, request: Callable[[AsyncModbusTcpClient], Awaitable[Any]],
                    timeout: float | None, where: str) -> Any:
        """Send one request on the connection, every failure mapped to our errors."""
        client, lost = self._client, self._lost
        if client is None or lost is None or lost.done() or not client.connected:
            raise ModbusConnectionError(f"{where}: not connected")
        limit = timeout or self.timeout
        try:
            async with asyncio.timeout(limit):
                response = await request(client)
            _reraise_swallowed_cancel()
        except TimeoutError as exc:
            if lost.done():
                raise ModbusConnectionError(f"{where}: connection lost during the request") \
                    from exc
            raise ModbusTimeout(f"{where}: no response within {limit} s") from exc
        except (pm_exc.ModbusException, OSError) as exc:
            if lost.done() or not client.connected:
                raise ModbusConnectionError(f"{where}: connection lost ({exc})") from exc
            raise map_pymodbus_error(exc, where) from exc
        if response is None:
            raise ModbusProtocolError(f"{where}: empty response")
        if response.isError():
            code = getattr(response, "exception_code", None)
            if code is None:
                raise ModbusProtocolError(f"{where}: error response {response}")
            raise ModbusExceptionResponse(int(code), where)
        return response
