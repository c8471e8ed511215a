"""The Modbus connector's errors, one tree; pymodbus errors are mapped onto it in `adapter`.

    ModbusError
    ├── ModbusConnectionError      the TCP link is down or was lost mid-request
    ├── ModbusTimeout              no response within the timeout (unit dead or busy)
    ├── ModbusExceptionResponse    the device answered with a Modbus exception code
    └── ModbusProtocolError        a malformed, mismatched or unexpected response
"""

from __future__ import annotations

__all__ = [
    "EXCEPTION_NAMES",
    "ModbusConnectionError",
    "ModbusError",
    "ModbusExceptionResponse",
    "ModbusProtocolError",
    "ModbusTimeout",
]

#: Modbus exception codes (Modbus Application Protocol v1.1b3, section 7).
EXCEPTION_NAMES: dict[int, str] = {
    0x01: "illegal function",
    0x02: "illegal data address",
    0x03: "illegal data value",
    0x04: "server device failure",
    0x05: "acknowledge",
    0x06: "server device busy",
    0x08: "memory parity error",
    0x0A: "gateway path unavailable",
    0x0B: "gateway target device failed to respond",
}


class ModbusError(Exception):
    """Any failure talking Modbus to a device."""


class ModbusConnectionError(ModbusError):
    """The TCP connection could not be made or was lost."""


class ModbusTimeout(ModbusError):
    """The device did not answer within the timeout."""


class ModbusProtocolError(ModbusError):
    """The response was malformed, mismatched, or not what the request asked for."""


class ModbusExceptionResponse(ModbusError):
    """The device answered with a Modbus exception code."""

    #: Codes that say the request itself is wrong for this device (configuration).
    CONFIGURATION_CODES = frozenset({0x01, 0x02, 0x03})
    #: Codes that say the unit behind a gateway is unreachable.
    GATEWAY_CODES = frozenset({0x0A, 0x0B})

    def __init__(self, code: int, where: str) -> None:
        self.code = code
        self.code_name = EXCEPTION_NAMES.get(code, "unknown exception code")
        super().__init__(f"{where}: exception {code:#04x} ({self.code_name})")

    @property
    def is_configuration_error(self) -> bool:
        return self.code in self.CONFIGURATION_CODES
