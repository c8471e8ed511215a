"""The OPC UA connector's errors, one tree; asyncua errors are mapped onto it in `adapter`.

    OpcUaError
    ├── OpcUaConnectionError   the server could not be reached, or the link was lost
    ├── OpcUaTimeout           no response within the timeout
    ├── OpcUaStatusError       the server answered with a Bad status code
    └── OpcUaProtocolError     a malformed or unexpected response (or certificate)
"""

from __future__ import annotations

__all__ = [
    "OpcUaConnectionError",
    "OpcUaError",
    "OpcUaProtocolError",
    "OpcUaStatusError",
    "OpcUaTimeout",
]


class OpcUaError(Exception):
    """Any failure talking OPC UA to a server."""


class OpcUaConnectionError(OpcUaError):
    """The TCP connection or secure channel could not be made or was lost."""


class OpcUaTimeout(OpcUaError):
    """The server did not answer within the timeout."""


class OpcUaStatusError(OpcUaError):
    """The server answered a request with a Bad status code."""


class OpcUaProtocolError(OpcUaError):
    """The response was malformed or not what the request asked for."""
