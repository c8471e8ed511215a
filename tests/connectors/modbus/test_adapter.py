"""The pymodbus adapter against a real pymodbus server over loopback sockets."""

from __future__ import annotations

import asyncio
import inspect

import numpy as np
import pymodbus.exceptions
import pytest

from isthmus.connectors.modbus.adapter import (
    PYMODBUS_ERRORS,
    ModbusClientAdapter,
    map_pymodbus_error,
)
from isthmus.connectors.modbus.errors import (
    ModbusConnectionError,
    ModbusError,
    ModbusExceptionResponse,
    ModbusTimeout,
)
from tests.connectors.modbus.modbus_test_server import free_port, load_site

SITE = """
enterprise: acme
site: plant1
devices:
  - name: plc
    host: 127.0.0.1
    port: {port}
    units:
      - unit_id: 1
        path: area/line/cell/press
        tags:
          a: {{address: 0}}
          b: {{address: 1}}
          c: {{address: 2}}
          coil_a: {{table: coil, address: 0, type: bool}}
          coil_b: {{table: coil, address: 1, type: bool}}
          di: {{table: discrete_input, address: 5, type: bool}}
          ir: {{table: input_register, address: 7}}
      - unit_id: 2
        path: area/line/cell/dead
        tags:
          a: {{address: 0}}
"""


def test_every_pymodbus_exception_is_mapped() -> None:
    classes = [obj for _, obj in inspect.getmembers(pymodbus.exceptions, inspect.isclass)
               if issubclass(obj, Exception) and obj.__module__ == "pymodbus.exceptions"]
    assert classes, "pymodbus.exceptions defines no exception classes any more"
    unmapped = [cls.__name__ for cls in classes if cls not in PYMODBUS_ERRORS]
    assert unmapped == [], f"pymodbus exceptions without a mapping: {unmapped}"


@pytest.mark.parametrize("exc", [pymodbus.exceptions.ConnectionException("x"),
                                 pymodbus.exceptions.ModbusIOException("x"),
                                 TimeoutError(), ConnectionResetError(), KeyError("odd")])
def test_map_pymodbus_error_always_returns_ours(exc: BaseException) -> None:
    mapped = map_pymodbus_error(exc, "somewhere")
    assert isinstance(mapped, ModbusError)
    assert "somewhere" in str(mapped)


async def test_reads_every_table_as_numpy(modbus_server) -> None:  # type: ignore[no-untyped-def]
    site = load_site(SITE.format(port=free_port()))
    server = await modbus_server(site, values={"a": 11, "b": 22, "c": 33, "coil_b": 1,
                                               "di": 1, "ir": 77})
    adapter = ModbusClientAdapter("127.0.0.1", server.port, timeout=1.0)
    await adapter.connect()
    try:
        regs = await adapter.read_holding_registers(0, 3, 1)
        assert regs.dtype == np.uint16 and regs.tolist() == [11, 22, 33]
        coils = await adapter.read_coils(0, 2, 1)
        assert coils.tolist() == [0, 1]
        assert (await adapter.read_discrete_inputs(5, 1, 1)).tolist() == [1]
        assert (await adapter.read_input_registers(7, 1, 1)).tolist() == [77]
    finally:
        await adapter.close()


async def test_exception_response_carries_code_and_name(modbus_server) -> None:  # type: ignore[no-untyped-def]
    site = load_site(SITE.format(port=free_port()))
    server = await modbus_server(site)
    adapter = ModbusClientAdapter("127.0.0.1", server.port, timeout=1.0)
    await adapter.connect()
    try:
        with pytest.raises(ModbusExceptionResponse) as info:
            await adapter.read_holding_registers(0, 10, 1)   # 3..9 are not defined
    finally:
        await adapter.close()
    assert info.value.code == 2
    assert info.value.code_name == "illegal data address"
    assert info.value.is_configuration_error


async def test_silent_unit_times_out_and_link_stays_usable(modbus_server) -> None:  # type: ignore[no-untyped-def]
    site = load_site(SITE.format(port=free_port()))
    server = await modbus_server(site, values={"a": 5}, dead={2})
    adapter = ModbusClientAdapter("127.0.0.1", server.port, timeout=1.0)
    await adapter.connect()
    try:
        for _ in range(5):  # more than pymodbus's own "close after retries+3" limit
            with pytest.raises(ModbusTimeout):
                await adapter.read_holding_registers(0, 1, 2, timeout=0.1)
        assert adapter.connected
        assert (await adapter.read_holding_registers(0, 1, 1)).tolist() == [5]
    finally:
        await adapter.close()


async def test_connection_refused_is_a_connection_error() -> None:
    adapter = ModbusClientAdapter("127.0.0.1", free_port(), timeout=0.5)
    with pytest.raises(ModbusConnectionError, match=r"127\.0\.0\.1"):
        await adapter.connect()
    with pytest.raises(ModbusConnectionError, match="not connected"):
        await adapter.read_holding_registers(0, 1, 1)


async def test_connection_lost_during_request_is_a_connection_error(modbus_server) -> None:  # type: ignore[no-untyped-def]
    site = load_site(SITE.format(port=free_port()))
    server = await modbus_server(site, dead={2})
    adapter = ModbusClientAdapter("127.0.0.1", server.port, timeout=1.0)
    await adapter.connect()
    try:
        pending = asyncio.create_task(adapter.read_holding_registers(0, 1, 2, timeout=30))
        await asyncio.sleep(0.1)
        await server.stop()
        with pytest.raises(ModbusConnectionError):
            await pending
        assert not adapter.connected
    finally:
        await adapter.close()


async def test_each_connect_builds_a_fresh_client(modbus_server) -> None:  # type: ignore[no-untyped-def]
    site = load_site(SITE.format(port=free_port()))
    server = await modbus_server(site, values={"a": 9})
    adapter = ModbusClientAdapter("127.0.0.1", server.port, timeout=1.0)
    await adapter.connect()
    first = adapter._client
    await adapter.connect()
    try:
        assert adapter._client is not first and adapter.clients_created == 2
        assert (await adapter.read_holding_registers(0, 1, 1)).tolist() == [9]
    finally:
        await adapter.close()


async def test_a_cancellation_swallowed_by_wait_for_is_raised_again() -> None:
    """Python 3.11's wait_for (which pymodbus uses) can lose a cancel that lands as the
    awaited call completes; the adapter must still stop."""
    from isthmus.connectors.modbus.adapter import _reraise_swallowed_cancel

    loop = asyncio.get_running_loop()
    inner: asyncio.Future[int] = loop.create_future()
    reached: list[str] = []

    async def request() -> None:
        await asyncio.wait_for(inner, 10)
        reached.append("after wait_for")
        _reraise_swallowed_cancel()
        reached.append("kept running")

    task = asyncio.create_task(request())
    await asyncio.sleep(0)
    inner.set_result(1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert reached == ["after wait_for"], "wait_for lost the cancel; the adapter raised it again"
