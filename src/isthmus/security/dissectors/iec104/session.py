"""One IEC 60870-5-104 connection: APDUs out of each direction's byte stream, each turned
into an `Iec104Event` (U, S and I frames) — or an `Anomaly` with its stream offset when it
is malformed. Activation confirmations are paired with their activations."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from isthmus.model import Severity
from isthmus.security.dissectors.base import Output
from isthmus.security.dissectors.framed_session import FramedSession, remember
from isthmus.security.dissectors.iec104.apdu import (
    APCI_SIZE,
    MAX_LENGTH,
    START,
    Apdu,
    ApduError,
    apdu_length,
    operation_of,
    parse_apdu,
)
from isthmus.security.dissectors.iec104.names import CAUSES
from isthmus.security.events import FlowKey, ProtocolEvent

__all__ = ["Iec104Event", "Iec104Session", "find_sync"]

_SEVERITY = {"read": Severity.INFO, "session": Severity.INFO, "unsolicited": Severity.INFO,
             "write": Severity.LOW, "select": Severity.LOW, "operate": Severity.MEDIUM,
             "time_sync": Severity.LOW, "file": Severity.MEDIUM, "restart": Severity.HIGH}


@dataclass
class Iec104Event(ProtocolEvent):
    frame: str = "I"
    function: str = ""                # U function, s_frame, or the type id name
    type_id: int | None = None
    cause: str | None = None
    cause_code: int | None = None
    negative: bool = False
    common_address: int | None = None
    address: int | None = None        # first information object address
    quantity: int | None = None       # number of information objects
    values: list[int | float] | None = None
    send_seq: int | None = None
    recv_seq: int | None = None
    detail: dict[str, Any] = field(default_factory=dict)
    offset: int = 0
    paired: bool = False

    @property
    def unit_id(self) -> int | None:
        return self.common_address

    def fields(self) -> dict[str, Any]:
        out: dict[str, Any] = {"frame": self.frame, "function": self.function,
                               "direction": self.direction, "operation": self.operation}
        for name in ("type_id", "cause", "cause_code", "common_address", "address",
                     "quantity", "values", "send_seq", "recv_seq"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        if self.negative:
            out["negative"] = True
        out.update(self.detail)
        return out

    def summary(self) -> str:
        text = f"iec104 {self.function} {self.direction}"
        if self.cause is not None:
            text += f" cause {self.cause}"
        if self.common_address is not None:
            text += f" ca {self.common_address} ioa {self.address}"
        if self.values:
            text += f" value {self.values[0]}"
        return text


def find_sync(buf: bytes, start: int) -> tuple[int | None, int]:
    """(position of a confirmed APDU boundary or None, position to keep bytes from). A
    boundary is confirmed when its APDU ends the buffer or another plausible one follows."""
    pos = buf.find(START, start)
    while pos != -1:
        if pos + APCI_SIZE > len(buf):
            return None, pos
        size = apdu_length(buf, pos)
        if size is not None:
            end = pos + size
            if end == len(buf) or apdu_length(buf, end) is not None:
                return pos, pos
            if end + APCI_SIZE > len(buf):
                return None, pos
        pos = buf.find(START, pos + 1)
    return None, max(start, len(buf) - 1)


class Iec104Session(FramedSession):
    """Parser state for one connection; `to_server` is controlling → controlled station."""

    protocol = "iec104"
    header_size = APCI_SIZE

    def __init__(self, to_server: FlowKey, *, midstream: bool) -> None:
        super().__init__(to_server, midstream=midstream)
        self._pending: dict[tuple[int, int, int], str] = {}
        self.apdus = 0

    _sync = staticmethod(find_sync)
    _length = staticmethod(apdu_length)

    def _bad_header(self, out: Output, buf: bytes, pos: int, side: int, ts_ns: int) -> None:
        self._anomaly(out, ts_ns, side, pos, "bad-apci",
                      f"not a plausible IEC 104 APCI (start 0x{buf[pos]:02x}, length "
                      f"{buf[pos + 1]}; I-frames need 10..{MAX_LENGTH} and a known "
                      "type id, S/U frames 4 and a known function); resynchronising")

    def _frame(self, out: Output, buf: bytes, pos: int, size: int, side: int,
               ts_ns: int) -> None:
        self.apdus += 1
        raw = buf[pos:pos + size]
        try:
            apdu = parse_apdu(raw)
        except ApduError as exc:
            self._anomaly(out, ts_ns, side, pos + exc.offset, "malformed-asdu",
                          f"IEC 104 I-frame: {exc}")
            return
        operation = operation_of(apdu)
        event = Iec104Event(
            ts_ns, self._keys[side], "iec104", "request" if side else "response", operation,
            _SEVERITY.get(operation, Severity.LOW), len(raw), apdu.frame, apdu.function,
            apdu.type_id,
            CAUSES.get(apdu.cause, f"cause_{apdu.cause}") if apdu.cause is not None else None,
            apdu.cause, apdu.negative, apdu.common_address, apdu.ioa, apdu.count,
            apdu.values, apdu.send_seq, apdu.recv_seq, apdu.detail,
            self._offset[side] + pos)
        self._pair(event, apdu, side)
        out.append(event)

    def _pair(self, event: Iec104Event, apdu: Apdu, side: int) -> None:
        """Activations (cause 6) wait for their confirmation (cause 7) from the other side,
        keyed by (type id, common address, IOA)."""
        if apdu.type_id is None or apdu.common_address is None or apdu.ioa is None:
            return
        key = (apdu.type_id, apdu.common_address, apdu.ioa)
        if apdu.cause == 6 and side == 1:
            remember(self._pending, key, event.operation)
        elif apdu.cause in (7, 10) and side == 0:
            operation = self._pending.get(key) if apdu.cause == 7 else \
                self._pending.pop(key, None)
            if operation is not None:
                event.paired, event.operation = True, operation
