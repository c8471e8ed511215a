"""IEC 60870-5-104 APDUs: the APCI (start 0x68, length, four control octets: I, S or U
format) and the ASDU of I-frames (type id, variable structure qualifier, cause of
transmission, common address, first information object address, command values).
Pure functions; a malformed APDU raises `ApduError` with the offset inside it."""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Any

from isthmus.security.dissectors.iec104.names import CAUSES, COMMANDS, TYPES, U_FUNCTIONS

__all__ = ["APCI_SIZE", "MAX_LENGTH", "START", "Apdu", "ApduError", "apdu_length",
           "operation_of", "parse_apdu"]

START = 0x68
APCI_SIZE = 6
MAX_LENGTH = 253
_ASDU_HEADER = struct.Struct("<BBBBH")     # type id, VSQ, cause, originator, common address


class ApduError(ValueError):
    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.offset = offset


@dataclass(slots=True)
class Apdu:
    frame: str                      # "I", "S" or "U"
    function: str                   # U function, "s_frame", or the type id name
    send_seq: int | None = None
    recv_seq: int | None = None
    type_id: int | None = None
    cause: int | None = None
    negative: bool = False
    test: bool = False
    originator: int | None = None
    common_address: int | None = None
    ioa: int | None = None
    count: int | None = None
    values: list[int | float] | None = None
    detail: dict[str, Any] = field(default_factory=dict)


def apdu_length(buf: bytes, pos: int) -> int | None:
    """Bytes of the APDU at `pos` if its APCI is plausible (start 0x68, length 4..253, a
    known U function or a well-formed S-frame, an I-frame with a known type id); else
    None. Needs 6 bytes (7 for an I-frame)."""
    if pos + APCI_SIZE > len(buf) or buf[pos] != START:
        return None
    length, c1 = buf[pos + 1], buf[pos + 2]
    if not 4 <= length <= MAX_LENGTH:
        return None
    if c1 & 0x01 == 0:                                  # I format
        if length < 4 + 6 or (pos + 7 <= len(buf) and buf[pos + 6] not in TYPES):
            return None
    elif c1 & 0x03 == 0x01:                             # S format
        if length != 4 or c1 != 0x01 or buf[pos + 3] != 0:
            return None
    elif length != 4 or c1 not in U_FUNCTIONS or buf[pos + 3:pos + 6] != b"\0\0\0":
        return None
    return 2 + length


def parse_apdu(apdu: bytes) -> Apdu:
    c1, c2, c3, c4 = apdu[2], apdu[3], apdu[4], apdu[5]
    if c1 & 0x01 == 0:
        out = Apdu("I", "", (c1 | c2 << 8) >> 1, (c3 | c4 << 8) >> 1)
        _asdu(apdu, out)
        return out
    if c1 & 0x03 == 0x01:
        return Apdu("S", "s_frame", recv_seq=(c3 | c4 << 8) >> 1)
    return Apdu("U", U_FUNCTIONS.get(c1, f"u_{c1:02x}"))


def _asdu(apdu: bytes, out: Apdu) -> None:
    if len(apdu) < APCI_SIZE + 6 + 3:
        raise ApduError(f"I-frame of {len(apdu)} bytes is too short for an ASDU header and "
                        "an information object address", len(apdu))
    type_id, vsq, cause, originator, common = _ASDU_HEADER.unpack_from(apdu, APCI_SIZE)
    out.type_id, out.function = type_id, TYPES.get(type_id, f"type_{type_id}")
    out.cause, out.negative, out.test = cause & 0x3F, bool(cause & 0x40), bool(cause & 0x80)
    out.originator, out.common_address = originator, common
    out.count = vsq & 0x7F
    if vsq & 0x80:
        out.detail["sequence"] = True
    if out.count == 0:
        raise ApduError("ASDU with zero information objects", APCI_SIZE + 1)
    if out.cause == 0:
        raise ApduError("cause of transmission 0 is not defined", APCI_SIZE + 2)
    pos = APCI_SIZE + 6
    out.ioa = apdu[pos] | apdu[pos + 1] << 8 | apdu[pos + 2] << 16
    command = COMMANDS.get(type_id)
    if command is not None:
        fmt, size = command
        if pos + 3 + size > len(apdu):
            raise ApduError(f"{out.function} object needs {size} bytes after its address, "
                            f"only {len(apdu) - pos - 3} left", pos + 3)
        value: int | float = struct.unpack_from(fmt, apdu, pos + 3)[0]
        out.values = [_command_value(type_id, value)]
        if type_id not in (51, 64):             # the S/E bit: in the command or the QOS
            qualifier_at = pos + 3 + (0 if fmt == "B" else struct.calcsize(fmt))
            out.detail["select"] = bool(apdu[qualifier_at] & 0x80)
    elif type_id in (100, 101, 105) and pos + 4 <= len(apdu):
        out.values = [apdu[pos + 3]]                    # qualifier of interrogation/reset
    if out.cause not in CAUSES:
        out.detail["cause_unknown"] = True


def _command_value(type_id: int, value: int | float) -> int | float:
    """The commanded state of single (bit 0), double and regulating (bits 0–1) commands;
    the value itself for set-points and bitstrings."""
    if type_id in (45, 58):
        return int(value) & 0x01
    if type_id in (46, 47, 59, 60):
        return int(value) & 0x03
    return value


def operation_of(apdu: Apdu) -> str:
    """What the APDU does: commands operate, C_RP resets, clock sync sets time,
    interrogation and read read, monitor data sent spontaneously is unsolicited."""
    type_id = apdu.type_id
    if apdu.frame != "I" or type_id is None:
        return "session"
    if type_id in COMMANDS:
        return "select" if apdu.detail.get("select") and apdu.cause == 6 else "operate"
    if type_id == 105:
        return "restart"
    if type_id in (103, 106):
        return "time_sync"
    if type_id in (100, 101, 102):
        return "read"
    if type_id in (104, 107):
        return "session"
    if 110 <= type_id <= 113:
        return "write"
    if 120 <= type_id <= 127:
        return "file"
    if type_id < 45 or type_id == 70:
        return "unsolicited" if apdu.cause in (3, 4) else "read"
    return "other"
