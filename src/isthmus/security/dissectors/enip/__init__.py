"""EtherNet/IP + CIP dissector: encapsulation (ListIdentity with the identity item,
ListServices, Register/UnRegisterSession, SendRRData/SendUnitData with CPF items) and the
CIP messages inside (services, request paths, tag reads and writes, Forward Open/Close,
Multiple Service Packet, Unconnected Send, general status, identity object)."""

from __future__ import annotations

from typing import ClassVar

from isthmus.security.dissectors.base import Match
from isthmus.security.dissectors.enip.cip import CipError, CipMessage, parse_request, parse_response
from isthmus.security.dissectors.enip.encapsulation import match_streams, parse_identity
from isthmus.security.dissectors.enip.names import COMMANDS, SERVICES
from isthmus.security.dissectors.enip.session import EnipEvent, EnipSession
from isthmus.security.events import FlowKey

__all__ = ["COMMANDS", "SERVICES", "CipError", "CipMessage", "EnipDissector", "EnipEvent",
           "EnipSession", "parse_identity", "parse_request", "parse_response"]


class EnipDissector:
    """EtherNet/IP over TCP, recognised by content on any port (44818 is only a hint)."""

    name = "enip"
    tcp_ports: ClassVar[frozenset[int]] = frozenset({44818})

    def match(self, to_server: bytes, to_client: bytes, *, midstream: bool) -> Match:
        return match_streams(to_server, to_client, midstream=midstream)

    def session(self, to_server: FlowKey, *, midstream: bool) -> EnipSession:
        return EnipSession(to_server, midstream=midstream)
