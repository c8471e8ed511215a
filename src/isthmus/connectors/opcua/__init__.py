"""OPC UA: a read-only configuration watch over servers (BuildInfo and certificate, the
NERC CIP-010 baseline idea); asyncua is used only behind `adapter`."""

from isthmus.connectors.opcua.errors import (
    OpcUaConnectionError,
    OpcUaError,
    OpcUaProtocolError,
    OpcUaStatusError,
    OpcUaTimeout,
)
from isthmus.connectors.opcua.identity import ServerIdentity, fingerprint_of
from isthmus.connectors.opcua.watch import (
    IdentityReader,
    OpcUaConfigWatch,
    OpcUaWatchHealth,
    build_config_watches,
)

__all__ = [
    "IdentityReader",
    "OpcUaConfigWatch",
    "OpcUaConnectionError",
    "OpcUaError",
    "OpcUaProtocolError",
    "OpcUaStatusError",
    "OpcUaTimeout",
    "OpcUaWatchHealth",
    "ServerIdentity",
    "build_config_watches",
    "fingerprint_of",
]
