"""The only module that imports asyncua: a thin read-only client that reads what identifies
an OPC UA server (BuildInfo, endpoint certificates) and whose failures are always one of
the errors in `errors`.

Every reading opens a fresh connection with security mode None and an anonymous session,
reads, and closes it: a watch that runs hourly holds no session open on the server.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from asyncua.client.client import Client
from asyncua.client.ha.common import ClientNotFound
from asyncua.common import utils as ua_utils
from asyncua.common.sql_injection import SqlInjectionError
from asyncua.crypto import uacrypto
from asyncua.ua import uaerrors
from asyncua.ua.object_ids import ObjectIds
from asyncua.ua.uaprotocol_auto import BuildInfo, EndpointDescription, MessageSecurityMode

from isthmus.connectors.opcua.errors import (
    OpcUaConnectionError,
    OpcUaError,
    OpcUaProtocolError,
    OpcUaStatusError,
    OpcUaTimeout,
)
from isthmus.connectors.opcua.identity import ServerIdentity

__all__ = ["ASYNCUA_ERRORS", "OpcUaClientAdapter", "map_asyncua_error"]

#: Every exception class asyncua's client side (asyncua.client, .common, .ua, .crypto)
#: defines, mapped to ours; the generated Bad… status-code classes are mapped by code below.
#: A test walks those packages and fails when asyncua grows a class missing here.
ASYNCUA_ERRORS: dict[type[Exception], type[OpcUaError]] = {
    uaerrors.UaError: OpcUaProtocolError,
    uaerrors.UaStatusCodeError: OpcUaStatusError,
    uaerrors.UaStringParsingError: OpcUaProtocolError,
    uaerrors.UaStructParsingError: OpcUaProtocolError,
    uaerrors.UaInvalidParameterError: OpcUaProtocolError,
    ua_utils.ServiceError: OpcUaStatusError,
    ua_utils.NotEnoughData: OpcUaProtocolError,
    ua_utils.SocketClosedException: OpcUaConnectionError,
    uacrypto.InvalidSignature: OpcUaProtocolError,  # type: ignore[attr-defined]
    SqlInjectionError: OpcUaProtocolError,
    ClientNotFound: OpcUaConnectionError,  # the HA client's; not used, mapped all the same
}
#: Bad status codes that mean the link, not the request, failed
_LINK_DOWN = (uaerrors.BadCommunicationError, uaerrors.BadServerNotConnected,
              uaerrors.BadSecureChannelClosed, uaerrors.BadNotConnected,
              uaerrors.BadConnectionClosed, uaerrors.BadDisconnect,
              uaerrors.BadTcpInternalError)


def map_asyncua_error(exc: BaseException, where: str) -> OpcUaError:
    """Our error for an exception raised inside asyncua or the socket layer."""
    if isinstance(exc, OpcUaError):
        return exc
    if isinstance(exc, TimeoutError | uaerrors.BadTimeout):
        return OpcUaTimeout(f"{where}: no response ({str(exc) or 'timed out'})")
    if isinstance(exc, (OSError, EOFError, *_LINK_DOWN)):
        return OpcUaConnectionError(f"{where}: {exc.__class__.__name__}: {exc}")
    for cls in type(exc).__mro__:
        ours = ASYNCUA_ERRORS.get(cls)
        if ours is not None:
            return ours(f"{where}: {exc.__class__.__name__}: {exc}")
    return OpcUaProtocolError(f"{where}: unexpected {exc.__class__.__name__}: {exc}")


def _text(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    return "" if value is None else str(value)


class OpcUaClientAdapter:
    """Reads one server at `endpoint` (opc.tcp://host:port[/path]); never writes."""

    def __init__(self, endpoint: str, *, timeout: float) -> None:
        self.endpoint = endpoint
        self.timeout = timeout

    async def read_identity(self) -> ServerIdentity:
        """GetEndpoints (their certificates), then an anonymous session with security mode
        None to read Server.ServerStatus.BuildInfo. Bounded by a few timeouts in all."""
        try:
            async with asyncio.timeout(self.timeout * 4):
                identity = await self._read()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the asyncua boundary: every error becomes ours
            raise map_asyncua_error(exc, f"OPC UA server {self.endpoint}") from exc
        _reraise_swallowed_cancel()
        return identity

    async def _read(self) -> ServerIdentity:
        endpoints = await Client(self.endpoint, timeout=self.timeout) \
            .connect_and_get_server_endpoints()
        certificates = tuple(bytes(e.ServerCertificate) for e in endpoints
                             if e.ServerCertificate)
        self._check_security_mode_none(endpoints)
        async with Client(self.endpoint, timeout=self.timeout) as client:
            node = client.get_node(ObjectIds.Server_ServerStatus_BuildInfo)
            info = await node.read_value()
        if not isinstance(info, BuildInfo):
            raise OpcUaProtocolError(f"OPC UA server {self.endpoint}: ServerStatus.BuildInfo "
                                     f"is a {type(info).__name__}, not a BuildInfo")
        build_info = {"product_uri": _text(info.ProductUri),
                      "manufacturer_name": _text(info.ManufacturerName),
                      "product_name": _text(info.ProductName),
                      "software_version": _text(info.SoftwareVersion),
                      "build_number": _text(info.BuildNumber),
                      "build_date": _text(info.BuildDate)}
        return ServerIdentity(build_info, certificates)


    def _check_security_mode_none(self, endpoints: list[EndpointDescription]) -> None:
        if any(e.SecurityMode == MessageSecurityMode.None_ for e in endpoints):
            return
        offered = ", ".join(sorted({f"{e.SecurityPolicyUri.rsplit('#', 1)[-1]}/"
                                    f"{e.SecurityMode.name}" for e in endpoints})) or "none"
        raise OpcUaProtocolError(
            f"OPC UA server {self.endpoint}: no endpoint with security mode None (offered: "
            f"{offered}); the configuration watch reads BuildInfo over security mode None only")


def _reraise_swallowed_cancel() -> None:
    """asyncua awaits through `asyncio.wait_for`, which on Python 3.11 can swallow a
    cancellation that lands as the inner call completes: a stop must always stop."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError
