"""The asyncua boundary: every asyncua exception maps onto our tree, and the adapter reads
a real server's BuildInfo and certificate, or fails with one of our errors."""

from __future__ import annotations

import asyncio
import hashlib
import importlib
import inspect
import pkgutil
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import pytest
from asyncua.common.utils import SocketClosedException
from asyncua.ua import uaerrors

from isthmus.connectors.opcua import (
    OpcUaConnectionError,
    OpcUaProtocolError,
    OpcUaStatusError,
    OpcUaTimeout,
)
from isthmus.connectors.opcua.adapter import (
    ASYNCUA_ERRORS,
    OpcUaClientAdapter,
    map_asyncua_error,
)
from tests.connectors.opcua.opcua_test_server import (
    BUILD_DATE,
    Build,
    free_port,
    opcua_server,
    rsa_self_signed,
    self_signed,
)

CLIENT_SIDE = ("asyncua.client", "asyncua.common", "asyncua.ua", "asyncua.crypto")


def asyncua_exception_classes() -> set[type[BaseException]]:
    found: set[type[BaseException]] = set()
    for package in CLIENT_SIDE:
        root = importlib.import_module(package)
        for info in pkgutil.walk_packages(root.__path__, package + "."):
            module = importlib.import_module(info.name)
            found |= {cls for _, cls in inspect.getmembers(module, inspect.isclass)
                      if issubclass(cls, BaseException) and cls.__module__.startswith("asyncua")}
    return found


def test_every_asyncua_exception_class_is_mapped() -> None:
    classes = asyncua_exception_classes()
    unmapped = sorted(f"{c.__module__}.{c.__qualname__}" for c in classes
                      if c not in ASYNCUA_ERRORS and not issubclass(c, uaerrors.UaStatusCodeError))
    assert len(classes) > 5  # the walk found asyncua's classes at all
    assert unmapped == [], f"map these in connectors/opcua/adapter.py: {unmapped}"


@pytest.mark.parametrize(("raised", "ours"), [
    (ConnectionRefusedError(111, "refused"), OpcUaConnectionError),
    (TimeoutError(), OpcUaTimeout),
    (uaerrors.BadTimeout(), OpcUaTimeout),
    (uaerrors.BadSecureChannelClosed(), OpcUaConnectionError),
    (uaerrors.BadNodeIdUnknown(), OpcUaStatusError),
    (SocketClosedException("closed"), OpcUaConnectionError),
    (uaerrors.UaStructParsingError("bad struct"), OpcUaProtocolError),
    (ValueError("something new"), OpcUaProtocolError),
])
def test_asyncua_errors_map_to_ours_naming_the_server(raised: Exception, ours: type) -> None:
    mapped = map_asyncua_error(raised, "OPC UA server opc.tcp://plc:4840")
    assert type(mapped) is ours
    assert str(mapped).startswith("OPC UA server opc.tcp://plc:4840: ")


async def test_reads_build_info_and_endpoint_certificate() -> None:
    port, certificate = free_port(), self_signed("line-plc")
    async with opcua_server(port, build=Build(software_version="7.1"), certificate=certificate):
        identity = await OpcUaClientAdapter(f"opc.tcp://127.0.0.1:{port}/",
                                            timeout=2.0).read_identity()
    assert identity.build_info == {
        "product_uri": "urn:acme:line-plc", "manufacturer_name": "Acme Automation",
        "product_name": "Acme PLC 9", "software_version": "7.1", "build_number": "481",
        "build_date": BUILD_DATE.isoformat()}
    assert {hashlib.sha256(c).hexdigest() for c in identity.certificates} == {
        hashlib.sha256(certificate).hexdigest()}


async def test_a_refused_connection_is_a_connection_error() -> None:
    port = free_port()
    with pytest.raises(OpcUaConnectionError, match=f"127.0.0.1:{port}"):
        await OpcUaClientAdapter(f"opc.tcp://127.0.0.1:{port}/", timeout=1.0).read_identity()


async def test_a_server_without_security_mode_none_is_refused_naming_what_it_offers() -> None:
    port, (certificate, key) = free_port(), rsa_self_signed("secure-only")
    async with opcua_server(port, certificate=certificate, secure_only_key=key):
        with pytest.raises(OpcUaProtocolError, match=r"no endpoint with security mode None "
                           r"\(offered: Basic256Sha256/SignAndEncrypt\)"):
            await OpcUaClientAdapter(f"opc.tcp://127.0.0.1:{port}/", timeout=2.0).read_identity()


@asynccontextmanager
async def tcp_peer(handle: Callable[[asyncio.StreamReader, asyncio.StreamWriter], object],
                   ) -> AsyncIterator[int]:
    async def on_client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        result = handle(reader, writer)
        if inspect.isawaitable(result):
            await result

    server = await asyncio.start_server(on_client, "127.0.0.1", 0)
    try:
        yield int(server.sockets[0].getsockname()[1])
    finally:
        server.close()
        await server.wait_closed()


async def test_a_peer_that_never_answers_is_a_timeout() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while await reader.read(65536):  # take the Hello, never answer, until hung up
                pass
        finally:
            writer.close()

    async with tcp_peer(silent) as port:
        with pytest.raises(OpcUaTimeout, match=r"no response \(timed out\)"):
            await OpcUaClientAdapter(f"opc.tcp://127.0.0.1:{port}/",
                                     timeout=0.2).read_identity()


async def test_a_peer_that_hangs_up_is_a_connection_error() -> None:
    def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()

    async with tcp_peer(hang_up) as port:
        with pytest.raises(OpcUaConnectionError, match="connection lost"):
            await OpcUaClientAdapter(f"opc.tcp://127.0.0.1:{port}/",
                                     timeout=0.5).read_identity()
