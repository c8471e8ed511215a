"""Modbus/TCP dissector: MBAP framing, every public function code, exception responses,
device identification (43/14) and Schneider UMAS (90) as vendor programming."""

from __future__ import annotations

from typing import ClassVar

from isthmus.security.dissectors.base import Match
from isthmus.security.dissectors.modbus.framing import match_streams
from isthmus.security.dissectors.modbus.names import EXCEPTIONS, FUNCTIONS
from isthmus.security.dissectors.modbus.pdu import Pdu, PduError, parse_request, parse_response
from isthmus.security.dissectors.modbus.session import ModbusEvent, ModbusSession
from isthmus.security.events import FlowKey

__all__ = ["EXCEPTIONS", "FUNCTIONS", "ModbusDissector", "ModbusEvent", "ModbusSession", "Pdu",
           "PduError", "parse_request", "parse_response"]


class ModbusDissector:
    """Modbus/TCP, recognised by content on any port (port 502 is only a hint)."""

    name = "modbus"
    tcp_ports: ClassVar[frozenset[int]] = frozenset({502})

    def match(self, to_server: bytes, to_client: bytes, *, midstream: bool) -> Match:
        return match_streams(to_server, to_client, midstream=midstream)

    def session(self, to_server: FlowKey, *, midstream: bool) -> ModbusSession:
        return ModbusSession(to_server, midstream=midstream)
