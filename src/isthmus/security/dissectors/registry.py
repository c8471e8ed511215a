"""The dissectors the monitor knows. A new protocol is one line in `DISSECTORS`."""

from __future__ import annotations

from isthmus.security.dissectors.bacnet import BacnetDissector
from isthmus.security.dissectors.base import DatagramDissector, Dissector
from isthmus.security.dissectors.dicom import DicomDissector
from isthmus.security.dissectors.dnp3 import Dnp3Dissector
from isthmus.security.dissectors.enip import EnipDissector
from isthmus.security.dissectors.enip_datagram import EnipDatagramDissector
from isthmus.security.dissectors.hl7 import Hl7Dissector
from isthmus.security.dissectors.iec104 import Iec104Dissector
from isthmus.security.dissectors.it import (
    DnsDatagramDissector,
    DnsDissector,
    HttpDissector,
    RdpDissector,
    SmbDissector,
    SshDissector,
    TlsDissector,
    VncDissector,
)
from isthmus.security.dissectors.modbus import ModbusDissector
from isthmus.security.dissectors.mqtt import MqttDissector
from isthmus.security.dissectors.opcua import OpcUaDissector
from isthmus.security.dissectors.s7 import S7Dissector

__all__ = ["DATAGRAM_DISSECTORS", "DISSECTORS", "by_name", "by_port"]

DISSECTORS: tuple[Dissector, ...] = (
    ModbusDissector(),
    Dnp3Dissector(),
    S7Dissector(),
    EnipDissector(),
    Iec104Dissector(),
    OpcUaDissector(),
    MqttDissector(),
    Hl7Dissector(),
    DicomDissector(),
    TlsDissector(),
    HttpDissector(),
    SshDissector(),
    RdpDissector(),
    SmbDissector(),
    DnsDissector(),
    VncDissector(),
)

#: UDP protocols (see `isthmus.security.datagrams`): one line each, like `DISSECTORS`.
DATAGRAM_DISSECTORS: tuple[DatagramDissector, ...] = (
    BacnetDissector(),
    DnsDatagramDissector(),
    EnipDatagramDissector(),
)


def by_name(name: str) -> Dissector:
    for dissector in DISSECTORS:
        if dissector.name == name:
            return dissector
    raise KeyError(f"no dissector named {name!r}; known: "
                   f"{', '.join(d.name for d in DISSECTORS)}")


def by_port(port: int) -> Dissector | None:
    """The dissector whose well-known TCP port this is, if any."""
    for dissector in DISSECTORS:
        if port in dissector.tcp_ports:
            return dissector
    return None
