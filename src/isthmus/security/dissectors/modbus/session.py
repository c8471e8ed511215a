"""One Modbus/TCP connection: frames ADUs out of each direction's byte stream, pairs
responses with requests by (transaction id, unit id), and turns each ADU into a
`ModbusEvent` — or an `Anomaly` with its stream offset when it is malformed."""

from __future__ import annotations

import struct
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

    def may_identify_server(self) -> bool:
        return self.operation == "identify"   # read device identification

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


_FC_INFO: dict[int, tuple[str, str, Severity]] = {
    fc: (name, operation, _SEVERITY.get(operation, Severity.LOW))
    for fc, (name, operation) in FUNCTIONS.items()}
_MBAP = MBAP.unpack_from
_INFO, _LOW = Severity.INFO, Severity.LOW      # enum member look-ups are slow in Python 3.11
_MBAP_FC = struct.Struct(">HHHBB").unpack_from      # MBAP and the function code
_READ_NAMES = {fc: FUNCTIONS[fc][0] for fc in (1, 2, 3, 4)}
_HH = struct.Struct(">HH").unpack_from
_BIT_RANGE = range(8)
_REGISTER_STRUCTS: dict[int, struct.Struct] = {}
_READ_BODIES: dict[int, Pdu] = {}        # shared read-request bodies: never changed once made


def _read_body(address: int, quantity: int) -> Pdu:
    if len(_READ_BODIES) >= 4096:
        _READ_BODIES.clear()
    body = _READ_BODIES[address << 16 | quantity] = Pdu(address, quantity)
    return body


def _register_struct(size: int) -> struct.Struct:
    """Unpacks `size` bytes of registers (cached by size)."""
    found = _REGISTER_STRUCTS.get(size)
    if found is None:
        found = _REGISTER_STRUCTS[size] = struct.Struct(f">{size // 2}H")
    return found


_Request = tuple[int, Pdu, bool]      # a pending request: function code, body, to_server


class ModbusSession:
    """Parser state for one connection. `to_server` is the client → server direction.

    Per-direction state lives in two-item lists indexed by `to_server` (False = 0 is the
    server → client direction, True = 1 the client → server one)."""

    def __init__(self, to_server: FlowKey, *, midstream: bool) -> None:
        self._keys = [to_server.reversed(), to_server]
        self._buf = [b"", b""]
        self._offset = [0, 0]                         # stream offset of _buf[side]
        self._syncing = [midstream, midstream]
        self._pending: dict[tuple[int, int], _Request] = {}
        self.adus = 0
        self.anomalies = 0
        self.skipped_bytes = 0

    def parse(self, data: bytes, *, to_server: bool, ts_ns: int) -> Output:
        side = 1 if to_server else 0
        if not self._buf[side] and not self._syncing[side]:
            size = len(data)
            if 12 <= size <= 6 + MAX_LENGTH:
                tid, protocol, length, unit, fc = _MBAP_FC(data)
                if length + 6 == size and protocol == 0 and 1 <= fc <= 4:
                    event = self._read(data, size, tid, unit, fc, side, ts_ns)
                    if event is not None:
                        return [event]
        out: Output = []
        buf = self._buf[to_server] + data if self._buf[to_server] else data
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
            tid, protocol, length, unit = _MBAP(buf, pos)
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
            self._adu(out, buf[pos:end], tid, unit, to_server, pos, ts_ns)
            pos = end
        self._offset[to_server] += pos
        self._buf[to_server] = buf[pos:]
        return out

    def gap(self, *, to_server: bool, missing: int, ts_ns: int) -> Output:
        self._offset[to_server] += len(self._buf[to_server]) + missing
        self._buf[to_server] = b""
        self._syncing[to_server] = True
        return []

    def _read(self, adu: bytes, size: int, tid: int, unit: int, fc: int, side: int,
              ts_ns: int) -> ModbusEvent | None:
        """The common case in one go: one whole, well-formed, in-spec read request or
        response (functions 1–4) that is the whole chunk. None, having changed nothing,
        for anything else: then `_adu` looks at it. Gives the same events as `_adu`."""
        key = (tid, unit)
        pending = self._pending
        request = pending.get(key)
        to_server = side == 1
        pdu = request[1] if (request is not None and request[2] != to_server
                             and request[0] == fc) else None
        if pdu is None and to_server:                                  # a request
            if size != 12:
                return None
            address, quantity = _HH(adu, 8)
            if not 1 <= quantity <= (2000 if fc <= 2 else 125):
                return None
            body = _READ_BODIES.get(address << 16 | quantity)
            if body is None:
                body = _read_body(address, quantity)
            if pending.pop(key, None) is None and len(pending) >= _MAX_PENDING:
                del pending[next(iter(pending))]
            pending[key] = (fc, body, to_server)
            event = ModbusEvent(ts_ns, self._keys[side], "modbus", "request", "read",
                                _INFO, size, tid, unit, fc, _READ_NAMES[fc], None,
                                None, None, None, address, quantity, None, {},
                                self._offset[side], False)
        else:                                                          # a response
            if size != 9 + adu[8]:
                return None
            quantity = pdu.quantity if pdu is not None else None
            if fc <= 2:
                bits = [(byte >> i) & 1 for byte in adu[9:] for i in _BIT_RANGE]
                values = bits[:quantity] if quantity is not None else bits
            else:
                count = size - 9
                if count & 1 or (quantity is not None and quantity * 2 != count):
                    return None
                registers = _REGISTER_STRUCTS.get(count) or _register_struct(count)
                values = list(registers.unpack_from(adu, 9))
            if pdu is not None:
                del pending[key]
            event = ModbusEvent(ts_ns, self._keys[side], "modbus", "response", "read",
                                _INFO, size, tid, unit, fc, _READ_NAMES[fc], None,
                                None, None, None, pdu.address if pdu is not None else None,
                                quantity, values, {}, self._offset[side], pdu is not None)
        self.adus += 1
        self._offset[side] += size
        return event

    # ---- one ADU -----------------------------------------------------------------------

    def _adu(self, out: Output, adu: bytes, tid: int, unit: int, to_server: bool, pos: int,
             ts_ns: int) -> None:
        self.adus += 1
        fc = adu[7]
        base = fc & 0x7F
        info = _FC_INFO.get(base)
        if fc == 0 or (fc & 0x80 and info is None):
            self._anomaly(out, ts_ns, to_server, pos + 7, "bad-function-code",
                          f"function code {fc} is not valid")
            return
        key = (tid, unit)
        pending = self._pending
        request = pending.get(key)
        if request is not None and request[2] != to_server and request[0] == base:
            del pending[key]
            paired = True
            request_pdu: Pdu | None = request[1]
        else:
            paired = False
            request_pdu = None
        is_response = paired or fc & 0x80 or not to_server
        name, operation, _severity = info or (f"function_{base}", "other", _LOW)
        event = ModbusEvent(ts_ns, self._keys[to_server], "modbus",
                            "response" if is_response else "request", operation,
                            _INFO, len(adu), tid, unit, base, name, None, None, None,
                            None, None, None, None, {}, self._offset[to_server] + pos,
                            paired)
        if fc & 0x80:
            self._exception(event, adu[8:], request_pdu)
        else:
            pdu = self._pdu(out, event, adu[8:], request_pdu, to_server, pos)
            if pdu is not None and not is_response:
                self._remember(key, (base, pdu, to_server))
        event.severity = max(event.severity, _SEVERITY.get(event.operation, _LOW))
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
        pending = self._pending
        if pending.pop(key, None) is None and len(pending) >= _MAX_PENDING:
            del pending[next(iter(pending))]
        pending[key] = request

    def _anomaly(self, out: Output, ts_ns: int, to_server: bool, pos: int, reason: str,
                 message: str) -> None:
        self.anomalies += 1
        if self.anomalies <= _MAX_ANOMALIES:
            out.append(Anomaly(ts_ns, "modbus", reason, message, self._offset[to_server] + pos,
                               self._keys[to_server]))
