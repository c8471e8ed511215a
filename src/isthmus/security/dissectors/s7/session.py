"""One ISO-on-TCP connection carrying S7comm or S7comm-plus: TPKTs out of each direction's
byte stream, COTP data TPDUs reassembled until their end-of-TSDU bit, each message turned
into an `S7Event` — or an `Anomaly` with its stream offset when something is malformed.
S7comm acknowledgements are paired with their jobs by PDU reference."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from isthmus.model import Severity
from isthmus.security.dissectors.base import Output
from isthmus.security.dissectors.framed_session import FramedSession, ParseCache, remember
from isthmus.security.dissectors.s7.names import COTP_TYPES, ROSCTR
from isthmus.security.dissectors.s7.s7comm import S7Error, S7Message, parse_s7comm
from isthmus.security.dissectors.s7.s7plus import S7PlusError, parse_s7plus
from isthmus.security.dissectors.s7.transport import (
    CR,
    DT,
    find_sync,
    parse_cotp,
    tpkt_length,
)
from isthmus.security.events import FlowKey, ProtocolEvent

__all__ = ["S7Event", "S7Session"]

_MAX_MESSAGE = 65536        # bytes of one reassembled COTP message
_SEVERITY = {"read": Severity.INFO, "session": Severity.INFO, "identify": Severity.INFO,
             "browse": Severity.INFO, "diagnostics": Severity.INFO, "write": Severity.LOW,
             "time_sync": Severity.LOW, "subscribe": Severity.INFO, "call": Severity.LOW,
             "upload": Severity.HIGH, "download": Severity.HIGH, "program": Severity.HIGH,
             "cpu_stop": Severity.CRITICAL, "cpu_start": Severity.HIGH}


@dataclass(slots=True)
class S7Event(ProtocolEvent):
    variant: str = "s7comm"              # s7comm, s7comm-plus or cotp
    rosctr: str | None = None
    pdu_ref: int | None = None
    function_code: int | None = None
    function: str = ""
    error: int | None = None
    address: int | None = None           # byte address of the first item
    quantity: int | None = None          # length of the first item
    values: list[int] | None = None
    items: list[dict[str, Any]] = field(default_factory=list)
    identity: dict[str, str] = field(default_factory=dict)
    detail: dict[str, Any] = field(default_factory=dict)
    offset: int = 0                      # stream offset of the TPKT that ended the message
    paired: bool = False

    def fields(self) -> dict[str, Any]:
        out: dict[str, Any] = {"variant": self.variant, "function": self.function,
                               "direction": self.direction, "operation": self.operation}
        for name in ("rosctr", "pdu_ref", "function_code", "address", "quantity", "values"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        if self.error is not None:
            out["exception_code"] = self.error
        if self.items:
            out["items"] = self.items
        if self.identity:
            out["identity"] = self.identity
        out.update(self.detail)
        return out

    def device_identity(self) -> dict[str, str] | None:
        if self.direction != "response" or not self.identity:
            return None
        return {"vendor": "Siemens", **self.identity}

    def summary(self) -> str:
        text = f"{self.variant} {self.function} {self.direction}"
        service = self.detail.get("pi_service") or self.detail.get("filename")
        if service:
            text += f" {service}"
        if self.items and "area" in self.items[0]:
            item = self.items[0]
            text += f" {item['area']} db {item['db']} byte {item['byte']}"
        if self.error is not None:
            text += f": error 0x{self.error:04x}"
        return text


_JOBS: ParseCache[bytes, S7Message] = ParseCache()   # jobs without their PDU reference


def _job(msg: bytes) -> S7Message:
    """A job, parsed once: a poll repeats the same jobs with a new PDU reference each
    time. The parse never depends on the reference; its `pdu_ref` is the first one seen
    (events take theirs from the message). Never changed once made."""
    key = msg[:4] + msg[6:]
    found = _JOBS.get(key)
    if found is None:
        found = _JOBS.keep(key, parse_s7comm(msg))
    return found


class S7Session(FramedSession):
    """Parser state for one connection; `to_server` is the client → PLC direction."""

    protocol = "s7"
    header_size = 7

    def __init__(self, to_server: FlowKey, *, midstream: bool) -> None:
        super().__init__(to_server, midstream=midstream)
        self._message = [bytearray(), bytearray()]
        self._pending: dict[int, S7Message] = {}
        self.messages = 0
        self.foreign_messages = 0

    def parse(self, data: bytes, *, to_server: bool, ts_ns: int) -> Output:
        side = 1 if to_server else 0
        if (not self._buf[side] and not self._syncing[side] and not self._message[side]
                and len(data) > 7 and data[0] == 3 and data[1] == 0 and data[4] == 2
                and data[5] == DT and data[6] & 0x80
                and data[2] << 8 | data[3] == len(data)):
            # the common case: the chunk is one TPKT holding a whole message (what
            # `tpkt_length`, `parse_cotp` and `_tpkt` would find, without their objects)
            out: Output = []
            self._message_event(out, data[7:], side, 0, ts_ns)
            self._offset[side] += len(data)
            return out
        return self._scan(data, side, ts_ns)

    def _sync(self, buf: bytes, pos: int, /) -> tuple[int | None, int]:
        return find_sync(buf, pos)

    def _length(self, buf: bytes, pos: int, /) -> int | None:
        return tpkt_length(buf, pos)

    def _bad_header(self, out: Output, buf: bytes, pos: int, side: int, ts_ns: int) -> None:
        self._anomaly(out, ts_ns, side, pos, "bad-tpkt",
                      "not a TPKT/COTP header (version 3, length >= 7, known COTP "
                      "type); resynchronising")
        self._message[side].clear()

    def _frame(self, out: Output, buf: bytes, pos: int, size: int, side: int,
               ts_ns: int) -> None:
        self._tpkt(out, buf[pos:pos + size], side, pos, ts_ns)

    def _forget(self, side: int) -> None:
        self._message[side].clear()

    def _tpkt(self, out: Output, tpkt: bytes, side: int, pos: int, ts_ns: int) -> None:
        cotp = parse_cotp(tpkt)
        if cotp.kind != DT:
            self._connection(out, cotp.kind, cotp.src_tsap, cotp.dst_tsap, side, pos, ts_ns,
                             len(tpkt))
            return
        message = self._message[side]
        if len(message) + len(cotp.payload) > _MAX_MESSAGE:
            self._anomaly(out, ts_ns, side, pos, "oversized-message",
                          f"COTP message longer than {_MAX_MESSAGE} bytes; dropped")
            message.clear()
            return
        message += cotp.payload
        if cotp.eot:
            whole = bytes(message)
            message.clear()
            if whole:
                self._message_event(out, whole, side, pos, ts_ns)

    def _connection(self, out: Output, kind: int, src: bytes | None, dst: bytes | None,
                    side: int, pos: int, ts_ns: int, length: int) -> None:
        detail: dict[str, Any] = {}
        if src is not None:
            detail["src_tsap"] = src.hex()
        if dst is not None:
            detail["dst_tsap"] = dst.hex()
        name = COTP_TYPES.get(kind, f"cotp_{kind:#04x}")
        out.append(S7Event(ts_ns, self._keys[side], "s7", "request" if kind == CR or side
                           else "response", "session", Severity.INFO, length, "cotp",
                           function=name, detail=detail, offset=self._offset[side] + pos))

    def _message_event(self, out: Output, msg: bytes, side: int, pos: int,
                       ts_ns: int) -> None:
        self.messages += 1
        try:
            if msg[0] == 0x32:
                event = self._s7comm(msg, side, pos, ts_ns)
            elif msg[0] == 0x72:
                event = self._s7plus(msg, side, pos, ts_ns)
            else:
                self.foreign_messages += 1        # e.g. MMS (IEC 61850) on port 102
                if self.foreign_messages == 1:
                    self._anomaly(out, ts_ns, side, pos, "not-s7",
                                  f"COTP data starts with 0x{msg[0]:02x}, not an S7comm "
                                  "(0x32) or S7comm-plus (0x72) header; later ones on this "
                                  "connection are only counted")
                return
        except (S7Error, S7PlusError) as exc:
            self._anomaly(out, ts_ns, side, pos, "malformed-pdu",
                          f"S7 message byte {exc.offset}: {exc}")
            return
        out.append(event)

    def _s7comm(self, msg: bytes, side: int, pos: int, ts_ns: int) -> S7Event:
        pdu_ref = msg[4] << 8 | msg[5] if len(msg) >= 6 else 0
        is_job = len(msg) > 1 and msg[1] == 1
        request = None if is_job else self._pending.get(pdu_ref)
        parsed = _job(msg) if is_job else parse_s7comm(msg, request)
        is_request = is_job or parsed.is_request
        if is_request:
            request = None
            self._pending.pop(pdu_ref, None)        # a reused reference takes no new room
            remember(self._pending, pdu_ref, parsed)
        elif request is not None:
            del self._pending[pdu_ref]
        first = parsed.items[0] if parsed.items else {}
        operation = parsed.operation
        return S7Event(
            ts_ns, self._keys[side], "s7", "request" if is_request else "response",
            operation, _SEVERITY.get(operation, Severity.LOW), len(msg), "s7comm",
            ROSCTR[parsed.rosctr], pdu_ref if is_job else parsed.pdu_ref,
            parsed.function_code, parsed.function,
            parsed.error, first.get("byte"), first.get("length"), parsed.values,
            parsed.items, parsed.identity, parsed.detail, self._offset[side] + pos,
            request is not None)

    def _s7plus(self, msg: bytes, side: int, pos: int, ts_ns: int) -> S7Event:
        parsed = parse_s7plus(msg)
        direction = "request" if parsed.opcode == 0x31 else "response"
        return S7Event(
            ts_ns, self._keys[side], "s7", direction, parsed.operation,
            _SEVERITY.get(parsed.operation, Severity.LOW), len(msg), "s7comm-plus",
            parsed.opcode_name, parsed.sequence, parsed.function_code, parsed.function,
            detail={"version": parsed.version}, offset=self._offset[side] + pos)
