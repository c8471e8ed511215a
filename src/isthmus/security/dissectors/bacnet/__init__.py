"""BACnet/IP dissector (UDP 47808, or any port by content): Who-Is/I-Am (device instance and
vendor into the inventory), read/write-property, reinitialize-device, device communication
control, every confirmed and unconfirmed service by name, errors, rejects and aborts."""

from __future__ import annotations

from isthmus.security.dissectors.bacnet.apdu import BVLC_FUNCTIONS, BacnetEvent, parse_datagram
from isthmus.security.dissectors.bacnet.names import CONFIRMED, UNCONFIRMED
from isthmus.security.dissectors.base import Output
from isthmus.security.dissectors.message_session import parse_guarded
from isthmus.security.events import FlowKey

__all__ = ["CONFIRMED", "UNCONFIRMED", "BacnetDissector", "BacnetEvent"]


class BacnetDissector:
    name = "bacnet"
    udp_ports = frozenset({47808})

    def match_datagram(self, payload: bytes) -> bool:
        """BVLC type 0x81, a known function, the length field equal to the datagram's."""
        return (len(payload) >= 4 and payload[0] == 0x81 and payload[1] in BVLC_FUNCTIONS
                and int.from_bytes(payload[2:4], "big") == len(payload))

    def parse_datagram(self, payload: bytes, flow: FlowKey, ts_ns: int) -> Output:
        return parse_guarded(self.name, flow, ts_ns,
                             lambda: [parse_datagram(payload, flow, ts_ns)])
