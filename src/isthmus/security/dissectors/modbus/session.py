"""One Modbus/TCP connection: frames ADUs out of each direction's byte stream, pairs
responses with requests by (transaction id, unit id), and turns each ADU into a
`ModbusEvent` — or an `Anomaly` with its stream offset when it is malformed."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from isthmus.model import Severity
from isthmus.security.dissectors.base import Output
from isthmus.security.dissectors.modbus.framing import MAX_LENGTH, MBAP, find_sync
from isthmus.security.dissectors.modbus.names import EXCEPTIONS, FUNCTIONS
from isthmus.security.dissectors.modbus.pdu import Pdu, PduError, parse_request, parse_response
from isthmus.security.events import Anomaly, FlowKey, ProtocolEvent

__all__ = ["ModbusEvent", "ModbusSession"]

_MAX_PENDING = 1024        # requests awaiting a response, per connection
_MAX_ANOMALIES = 50        # reported per connection; more are only counted
_IDENTITY = {"vendor_name": "vendor", "product_code": "product_code", "revision": "revision",
             "product_name": "product", "model_name": "model"}
_SEVERITY = {"read": Severity.INFO, "identify": Severity.INFO, "diagnostics": Severity.LOW,
             "write": Severity.LOW, "read_write": Severity.LOW, "program": Severity.MEDIUM}


@dataclass(slots=True)
class ModbusEvent(ProtocolEvent):
    transaction_id: int = 0
    unit_id: int = 0
    function_code: int = 0
    function: str = ""
    subfunction: int | None = None
    subfunction_name: str | None = None
    exception_code: int | None = None
    exception: str | None = None
    address: int | None = None
    quantity: int | None = None
    values: list[int] | None = None
    detail: dict[str, Any] = field(default_factory=dict)
    offset: int = 0                  # stream offset of the ADU in its direction
    paired: bool = False             # a response whose request was seen

    def fields(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "transaction_id": self.transaction_id, "unit_id": self.unit_id,
            "function_code": self.function_code, "function": self.function,
            "direction": self.direction, "operation": self.operation,
        }
        for name in ("subfunction", "subfunction_name", "exception_code", "exception",
                     "address", "quantity", "values"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        out.update(self.detail)
        return out

    def device_identity(self) -> dict[str, str] | None:
        objects = self.detail.get("objects")
        if self.direction != "response" or not isinstance(objects, dict):
            return None
        return {_IDENTITY.get(str(k), str(k)): str(v) for k, v in objects.items()}

    def summary(self) -> str:
        text = f"modbus {self.function} {self.direction} unit {self.unit_id}"
        if self.subfunction_name is not None and self.subfunction_name != self.function:
            text += f" ({self.subfunction_name})"
        if self.address is not None:
            text += f" address {self.address}"
        if self.quantity is not None:
            text += f" quantity {self.quantity}"
        if self.exception is not None:
            text += f": exception {self.exception}"
        return text


@dataclass(slots=True)
class _Request:
    fc: int
    pdu: Pdu
    to_server: bool


class ModbusSession:
    """Parser state for one connection. `to_server` is the client → server direction."""

    def __init__(self, to_server: FlowKey, *, midstream: bool) -> None:
        self._keys = {True: to_server, False: to_server.reversed()}
        self._buf = {True: b"", False: b""}
        self._offset = {True: 0, False: 0}           # stream offset of _buf[0]
        self._syncing = {True: midstream, False: midstream}
        self._pending: dict[tuple[int, int], _Request] = {}
        self.adus = 0
        self.anomalies = 0
        self.skipped_bytes = 0

    def parse(self, data: bytes, *, to_server: bool, ts_ns: int) -> Output:
        buf = self._buf[to_server] + data if self._buf[to_server] else data
        out: Output = []
        pos = 0
        while True:
            if self._syncing[to_server]:
                found, keep = find_sync(buf, pos)
                self.skipped_bytes += keep - pos
                pos = keep
                if found is None:
                    break
                self._syncing[to_server] = False
            if len(buf) - pos < 8:
                break
            tid, protocol, length, unit = MBAP.unpack_from(buf, pos)
            if protocol != 0 or not 2 <= length <= MAX_LENGTH:
                self._anomaly(out, ts_ns, to_server, pos, "bad-header",
                              f"not a Modbus/TCP header: protocol id {protocol}, length "
                              f"{length}; resynchronising")
                self._syncing[to_server] = True
                pos += 1
                continue
            end = pos + 6 + length
            if end > len(buf):
                break
            self._adu(out, bytes(buf[pos:end]), tid, unit, to_server, pos, ts_ns)
            pos = end
        self._offset[to_server] += pos
        self._buf[to_server] = buf[pos:]
        return out

    def gap(self, *, to_server: bool, missing: int, ts_ns: int) -> Output:
        self._offset[to_server] += len(self._buf[to_server]) + missing
        self._buf[to_server] = b""
        self._syncing[to_server] = True
        return []

    # ---- one ADU -----------------------------------------------------------------------

    def _adu(self, out: Output, adu: bytes, tid: int, unit: int, to_server: bool, pos: int,
             ts_ns: int) -> None:
        self.adus += 1
        fc = adu[7]
        base = fc & 0x7F
        if fc == 0 or (fc & 0x80 and base not in FUNCTIONS):
            self._anomaly(out, ts_ns, to_server, pos + 7, "bad-function-code",
                          f"function code {fc} is not valid")
            return
        key = (tid, unit)
        request = self._pending.get(key)
        paired = (request is not None and request.to_server != to_server
                  and request.fc == base)
        if paired:
            del self._pending[key]
        is_response = paired or bool(fc & 0x80) or not to_server
        name, operation = FUNCTIONS.get(base, (f"function_{base}", "unknown"))
        event = ModbusEvent(ts_ns, self._keys[to_server], "modbus",
                            "response" if is_response else "request", operation,
                            Severity.INFO, len(adu), transaction_id=tid, unit_id=unit,
                            function_code=base, function=name,
                            offset=self._offset[to_server] + pos, paired=paired)
        body = adu[8:]
        if fc & 0x80:
            self._exception(event, body, request.pdu if paired and request else None)
        else:
            pdu = self._pdu(out, event, body, request.pdu if paired and request else None,
                            to_server, pos)
            if pdu is not None and not is_response:
                self._remember(key, _Request(base, pdu, to_server))
        event.severity = max(event.severity, _SEVERITY.get(event.operation, Severity.LOW))
        out.append(event)

    def _pdu(self, out: Output, event: ModbusEvent, body: bytes, request: Pdu | None,
             to_server: bool, pos: int) -> Pdu | None:
        try:
            if event.direction == "request":
                pdu = parse_request(event.function_code, body)
            else:
                pdu = parse_response(event.function_code, body, request)
        except PduError as exc:
            self._anomaly(out, event.ts_ns, to_server, pos + 7 + exc.offset, "malformed-pdu",
                          f"{event.function} {event.direction}: {exc}")
            return None
        event.address, event.quantity, event.values = pdu.address, pdu.quantity, pdu.values
        event.subfunction, event.subfunction_name = pdu.subfunction, pdu.name
        event.detail = pdu.detail
        if pdu.operation is not None:          # MEI types: identify, encapsulated
            event.operation = pdu.operation
            event.function = pdu.name or event.function
        for problem in pdu.problems:
            self._anomaly(out, event.ts_ns, to_server, pos, "out-of-spec",
                          f"{event.function} {event.direction}: {problem}")
        return pdu

    def _exception(self, event: ModbusEvent, body: bytes, request: Pdu | None) -> None:
        code = body[0] if body else None
        event.exception_code = code
        event.exception = EXCEPTIONS.get(code, f"exception_{code}") if code is not None \
            else "missing_exception_code"
        event.severity = Severity.LOW
        if request is not None:
            event.address, event.quantity = request.address, request.quantity
            event.subfunction, event.subfunction_name = request.subfunction, request.name
            if request.operation is not None:
                event.operation = request.operation
                event.function = request.name or event.function

    def _remember(self, key: tuple[int, int], request: _Request) -> None:
        self._pending.pop(key, None)
        if len(self._pending) >= _MAX_PENDING:
            del self._pending[next(iter(self._pending))]
        self._pending[key] = request

    def _anomaly(self, out: Output, ts_ns: int, to_server: bool, pos: int, reason: str,
                 message: str) -> None:
        self.anomalies += 1
        if self.anomalies <= _MAX_ANOMALIES:
            out.append(Anomaly(ts_ns, "modbus", reason, message, self._offset[to_server] + pos,
                               self._keys[to_server]))
