"""S7comm-plus (protocol id 0x72), classified rather than decoded: protocol version,
opcode (request, response, notification) and function (explore, create/delete object,
get/set variables, sequences, invoke). Integrity-protected version 3 messages carry a
digest before the opcode."""

from __future__ import annotations

from dataclasses import dataclass

from isthmus.security.dissectors.s7.names import PLUS_FUNCTIONS, PLUS_OPCODES

__all__ = ["PlusMessage", "S7PlusError", "parse_s7plus"]


class S7PlusError(ValueError):
    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.offset = offset


@dataclass(frozen=True, slots=True)
class PlusMessage:
    version: int
    opcode: int
    opcode_name: str
    function_code: int | None
    function: str
    operation: str
    sequence: int | None


def parse_s7plus(msg: bytes) -> PlusMessage:
    if len(msg) < 5:
        raise S7PlusError(f"S7comm-plus header needs 4 bytes and an opcode, got {len(msg)}",
                          len(msg))
    version = msg[1]
    pos = 4
    if version == 3 and msg[4] == 0x20:              # digest length 32, then the digest
        pos += 33
    if pos >= len(msg):
        raise S7PlusError("S7comm-plus message ends before its opcode", len(msg))
    opcode = msg[pos]
    if opcode not in PLUS_OPCODES:
        raise S7PlusError(f"unknown S7comm-plus opcode 0x{opcode:02x}", pos)
    if opcode == 0x33 or pos + 9 > len(msg):
        name = "notification" if opcode == 0x33 else PLUS_OPCODES[opcode]
        return PlusMessage(version, opcode, PLUS_OPCODES[opcode], None, name,
                           "unsolicited" if opcode == 0x33 else "session", None)
    function = msg[pos + 3] << 8 | msg[pos + 4]
    sequence = msg[pos + 7] << 8 | msg[pos + 8]
    name, operation = PLUS_FUNCTIONS.get(function, (f"function_{function:#06x}", "other"))
    return PlusMessage(version, opcode, PLUS_OPCODES[opcode], function, name, operation,
                       sequence)
