"""One EtherNet/IP connection: encapsulation messages out of each direction's byte
stream, the CIP message in SendRRData/SendUnitData, each turned into an `EnipEvent` — or
an `Anomaly` with its stream offset when malformed. CIP responses are paired with their
requests by sender context (unconnected) or connected-data sequence count (connected)."""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Any

from isthmus.model import Severity
from isthmus.security.dissectors.base import Output
from isthmus.security.dissectors.enip.cip import (
    CipError,
    CipMessage,
    class_name,
    parse_request,
    parse_response,
)
from isthmus.security.dissectors.enip.encapsulation import (
    HEADER,
    HEADER_SIZE,
    MAX_LENGTH,
    EncapError,
    Header,
    find_sync,
    message_length,
    parse_cpf,
    parse_header,
    parse_identity,
)
from isthmus.security.dissectors.enip.names import COMMANDS, CPF_ITEMS
from isthmus.security.dissectors.framed_session import FramedSession, ParseCache, remember
from isthmus.security.events import FlowKey, ProtocolEvent

__all__ = ["EnipEvent", "EnipSession"]

_SEVERITY = {"read": Severity.INFO, "session": Severity.INFO, "identify": Severity.INFO,
             "browse": Severity.INFO, "encapsulated": Severity.INFO, "write": Severity.LOW,
             "program": Severity.HIGH, "restart": Severity.HIGH,
             "cpu_stop": Severity.CRITICAL, "cpu_start": Severity.HIGH}
_IDENTITY_KEYS = {"vendor_id": "vendor_id", "device_type": "device_type",
                  "product_code": "product_code", "revision": "revision",
                  "serial": "serial", "product": "product"}


@dataclass(slots=True)
class EnipEvent(ProtocolEvent):
    command: str = ""
    command_code: int = 0
    session_handle: int = 0
    encap_status: int = 0
    function: str = ""                # the CIP service, else the command
    service_code: int | None = None
    path: dict[str, Any] = field(default_factory=dict)
    general_status: int | None = None
    quantity: int | None = None
    values: list[int | float] | None = None
    identity: dict[str, str] = field(default_factory=dict)
    detail: dict[str, Any] = field(default_factory=dict)
    offset: int = 0
    paired: bool = False

    def may_identify_server(self) -> bool:
        return self.operation == "identify"   # ListIdentity, the identity object

    def fields(self) -> dict[str, Any]:
        out: dict[str, Any] = {"command": self.command, "command_code": self.command_code,
                               "session_handle": self.session_handle,
                               "function": self.function, "direction": self.direction,
                               "operation": self.operation}
        if self.encap_status:
            out["encap_status"] = self.encap_status
        for name in ("service_code", "general_status", "quantity", "values"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        if self.general_status:
            out["exception_code"] = self.general_status
        if self.path:
            out["path"] = self.path
            if "class" in self.path:
                out["class_name"] = class_name(self.path["class"])
        if self.identity:
            out["identity"] = self.identity
        out.update(self.detail)
        return out

    def device_identity(self) -> dict[str, str] | None:
        if self.direction != "response" or not self.identity:
            return None
        return {_IDENTITY_KEYS[k]: v for k, v in self.identity.items() if k in _IDENTITY_KEYS}

    def summary(self) -> str:
        text = f"enip {self.function} {self.direction}"
        target = self.path.get("tag") if self.path else None
        if target is None and self.path and "class" in self.path:
            target = f"class 0x{self.path['class']:02x} instance {self.path.get('instance')}"
        if target is not None:
            text += f" {target}"
        if self.identity.get("product"):
            text += f" ({self.identity['product']})"
        if self.general_status:
            text += f": status 0x{self.general_status:02x}"
        return text


_CPF_START = struct.Struct("<HHH").unpack_from      # item count, first item type, size
_CPF_ITEM = struct.Struct("<HH").unpack_from
_REQUESTS: ParseCache[bytes, CipMessage] = ParseCache()


def _request(message: bytes) -> CipMessage:
    """A CIP request, parsed once: polls repeat the same requests. Never changed once
    made (events and the responses paired with it share it)."""
    found = _REQUESTS.get(message)
    if found is None:
        found = _REQUESTS.keep(message, parse_request(message))
    return found


class EnipSession(FramedSession):
    """Parser state for one connection; `to_server` is the originator → target direction."""

    protocol = "enip"
    header_size = HEADER_SIZE

    def __init__(self, to_server: FlowKey, *, midstream: bool) -> None:
        super().__init__(to_server, midstream=midstream)
        self._pending: dict[tuple[str, int | bytes], CipMessage] = {}
        self.messages = 0

    def parse(self, data: bytes, *, to_server: bool, ts_ns: int) -> Output:
        side = 1 if to_server else 0
        if not self._buf[side] and not self._syncing[side] and len(data) >= 40:
            event = self._cip_message(data, side, ts_ns)
            if event is not None:
                self.messages += 1
                self._offset[side] += len(data)
                return [event]
        return self._scan(data, side, ts_ns)

    def _sync(self, buf: bytes, pos: int, /) -> tuple[int | None, int]:
        return find_sync(buf, pos)

    def _length(self, buf: bytes, pos: int, /) -> int | None:
        return message_length(buf, pos)

    def _bad_header(self, out: Output, buf: bytes, pos: int, side: int, ts_ns: int) -> None:
        self._anomaly(out, ts_ns, side, pos, "bad-header",
                      "not an EtherNet/IP header (known command, options 0, length "
                      f"<= {MAX_LENGTH}); resynchronising")

    def _cip_message(self, data: bytes, side: int, ts_ns: int) -> EnipEvent | None:
        """The common case in one go: the chunk is one SendRRData or SendUnitData whose
        two CPF items are an address and the data item, holding a well-formed CIP
        message. None, having changed nothing, for anything else: then the general path
        looks at it. Gives the same event as `_frame`."""
        size = len(data)
        command, length, session, status, context, options = HEADER.unpack_from(data)
        if options or length + HEADER_SIZE != size or command not in (0x006F, 0x0070):
            return None
        count, address_type, address_size = _CPF_START(data, 30)
        end = 36 + address_size
        if (count != 2 or address_type not in CPF_ITEMS or address_type in (0xB1, 0xB2)
                or end + 4 > size):
            return None
        item_type, item_size = _CPF_ITEM(data, end)
        if item_type not in (0x00B1, 0x00B2) or end + 4 + item_size != size:
            return None
        message = data[end + 4:]
        key: tuple[str, int | bytes] = ("rr", context)
        if item_type == 0x00B1:
            if item_size < 3:
                return None
            key, message = ("unit", message[0] | message[1] << 8), message[2:]
        elif not item_size:
            return None
        pending = self._pending
        try:
            if message[0] & 0x80:
                request = pending.get(key)
                cip = parse_response(message, request)
                if request is not None:
                    del pending[key]
                paired = request is not None and request.service == cip.service
            else:
                cip, paired = _request(message), False
                remember(pending, key, cip)
        except CipError:
            return None
        operation = cip.operation
        return EnipEvent(ts_ns, self._keys[side], "enip",
                         "response" if message[0] & 0x80 else "request", operation,
                         _SEVERITY.get(operation, Severity.LOW), size,
                         COMMANDS[command][0], command, session, status, cip.name,
                         cip.service, cip.path, cip.status, cip.quantity, cip.values,
                         cip.identity, cip.detail, self._offset[side], paired)

    def _frame(self, out: Output, buf: bytes, pos: int, size: int, side: int,
               ts_ns: int) -> None:
        self.messages += 1
        encap = parse_header(buf, pos)
        body = buf[pos + HEADER_SIZE:pos + size]
        name, operation = COMMANDS[encap.command]
        event = EnipEvent(ts_ns, self._keys[side], "enip",
                          "request" if side else "response", operation,
                          _SEVERITY.get(operation, Severity.LOW), size, name,
                          encap.command, encap.session, encap.status, name,
                          offset=self._offset[side] + pos)
        try:
            if encap.command in (0x006F, 0x0070) and body:
                self._cip(event, encap, body, side)
            elif encap.command == 0x0063 and body:
                self._identity(event, body)
        except (EncapError, CipError) as exc:
            self._anomaly(out, ts_ns, side, pos + HEADER_SIZE + exc.offset, "malformed",
                          f"EtherNet/IP {name} byte {HEADER_SIZE + exc.offset}: {exc}")
            return
        event.severity = _SEVERITY.get(event.operation, Severity.LOW)
        out.append(event)

    def _identity(self, event: EnipEvent, body: bytes) -> None:
        items = parse_cpf(body, 0)
        for item in items:
            if item.type_id == 0x000C:
                try:
                    event.identity = parse_identity(item.data)
                except EncapError as exc:
                    raise EncapError(str(exc), item.offset + exc.offset) from exc
                return

    def _cip(self, event: EnipEvent, header: Header, body: bytes, side: int) -> None:
        items = parse_cpf(body, 6)
        data = next((i for i in items if i.type_id in (0x00B1, 0x00B2)), None)
        if data is None:
            return
        message, base = data.data, data.offset
        key: tuple[str, int | bytes] = ("rr", header.context)
        if data.type_id == 0x00B1:                   # connected: sequence count first
            if len(message) < 2:
                raise EncapError("connected data item without a sequence count", base)
            key = ("unit", message[0] | message[1] << 8)
            message, base = message[2:], base + 2
        if not message:
            raise EncapError("data item carries no CIP message", base)
        try:
            if message[0] & 0x80:
                request = self._pending.pop(key, None)
                cip = parse_response(message, request)
                event.direction = "response"
                event.general_status = cip.status
                event.paired = request is not None and request.service == cip.service
            else:
                cip = parse_request(message)
                event.direction = "request"
                remember(self._pending, key, cip)
        except CipError as exc:
            raise CipError(str(exc), base + exc.offset) from exc
        event.function, event.service_code, event.operation = cip.name, cip.service, \
            cip.operation
        event.path, event.quantity, event.values = cip.path, cip.quantity, cip.values
        event.identity, event.detail = cip.identity, cip.detail
