"""One DICOM upper-layer connection: association request/accept/reject (AE titles,
application context, presentation contexts, implementation class UID and version name),
P-DATA-TF (PDVs, and the DIMSE command when a command set sits in one PDV), release and
abort."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any, ClassVar

from isthmus.security.dissectors.base import Output
from isthmus.security.dissectors.cursor import Cursor
from isthmus.security.dissectors.dicom.names import COMMANDS, PDU_TYPES
from isthmus.security.dissectors.message_event import MessageEvent
from isthmus.security.dissectors.message_session import Malformed, MessageSession

__all__ = ["DicomEvent", "DicomSession", "frame_length"]

_HEADER = struct.Struct(">BBI")
_MAX_MESSAGE = 4 << 20
_MAX_PDVS = 256
_ELEMENT = struct.Struct("<HHI")
_UID_ITEMS = {0x10: "application_context", 0x52: "implementation_class_uid",
              0x55: "implementation_version_name"}


@dataclass
class DicomEvent(MessageEvent):
    identifies_sender: ClassVar[bool] = True


def frame_length(buf: bytes, pos: int) -> int | None:
    if len(buf) - pos < 6:
        return None
    kind, reserved, length = _HEADER.unpack_from(buf, pos)
    if kind not in PDU_TYPES or reserved != 0:
        raise Malformed("bad-header", f"PDU type {kind:#04x}, reserved byte {reserved}")
    if length + 6 > _MAX_MESSAGE:
        raise Malformed("bad-length", f"PDU length {length}", 2)
    return int(length) + 6


def _ae(raw: bytes) -> str:
    return raw.decode("ascii", "replace").strip(" \0")


def _items(cur: Cursor, detail: dict[str, Any]) -> None:
    contexts = 0
    while cur.left >= 4:
        kind = cur.u8("item type")
        cur.u8("reserved")
        body = Cursor(cur.take(cur.u16("item length"), "item"))
        if kind in (0x20, 0x21):
            contexts += 1
        elif kind == 0x50:
            _items(body, detail)
        elif kind in _UID_ITEMS:
            detail[_UID_ITEMS[kind]] = _ae(body.data)[:64]
        elif kind == 0x51 and body.left >= 4:
            detail["max_pdu_length"] = body.u32("max length")
    if contexts:
        detail["presentation_contexts"] = contexts


def _command(data: bytes) -> tuple[int, dict[str, Any]]:
    """(command field, selected elements) of an implicit-little-endian command set."""
    pos, command, extra = 0, -1, {}
    while pos + 8 <= len(data):
        group, element, size = _ELEMENT.unpack_from(data, pos)
        value = data[pos + 8:pos + 8 + size]
        if group != 0 or len(value) != size:
            raise Malformed("bad-command", "command set element is malformed", pos)
        if element == 0x0100 and size == 2:
            command = int.from_bytes(value, "little")
        elif element in (0x0002, 0x0003) and size:
            extra["sop_class_uid"] = _ae(value)[:64]
        elif element == 0x0900 and size == 2:
            extra["status"] = f"{int.from_bytes(value, 'little'):#06x}"
        pos += 8 + size
    if command < 0:
        raise Malformed("bad-command", "command set without a command field")
    return command, extra


class DicomSession(MessageSession):
    protocol = "dicom"
    event_type = DicomEvent
    max_message = _MAX_MESSAGE

    def frame(self, buf: bytes, pos: int, to_server: bool) -> int | None:
        return frame_length(buf, pos)

    def message(self, msg: bytes, to_server: bool, ts_ns: int, offset: int) -> Output:
        kind = msg[0]
        name = PDU_TYPES[kind]
        cur = Cursor(msg, 6)
        detail: dict[str, Any] = {"pdu_type": kind}
        if kind in (1, 2):
            return [self._associate(cur, name, detail, to_server, ts_ns, offset, len(msg))]
        if kind == 4:
            return self._data(cur, detail, to_server, ts_ns, offset, len(msg))
        if kind in (3, 7):
            cur.take(2 if kind == 7 else 1, "reserved")
            if kind == 3:
                detail["result"] = cur.u8("result")
            detail["source"] = cur.u8("source")
            detail["reason"] = cur.u8("reason")
        return [self.event(to_server, ts_ns, offset, len(msg), name, "session",
                           detail=detail, direction="response" if kind in (2, 3, 6)
                           else "request")]

    def _associate(self, cur: Cursor, name: str, detail: dict[str, Any], to_server: bool,
                   ts_ns: int, offset: int, length: int) -> MessageEvent:
        detail["protocol_version"] = cur.u16("protocol version")
        cur.take(2, "reserved")
        detail["called_ae"] = _ae(cur.take(16, "called AE title"))
        detail["calling_ae"] = _ae(cur.take(16, "calling AE title"))
        cur.take(32, "reserved")
        _items(cur, detail)
        identity: dict[str, str] = {}
        for key, out in (("implementation_version_name", "product"),
                         ("implementation_class_uid", "implementation_class_uid")):
            if detail.get(key):
                identity[out] = detail[key]
        ae = detail["calling_ae" if name == "associate_rq" else "called_ae"]
        if identity and ae:
            identity["ae_title"] = ae
        return self.event(to_server, ts_ns, offset, length, name, "session", detail=detail,
                          identity=identity or None,
                          direction="request" if name == "associate_rq" else "response")

    def _data(self, cur: Cursor, detail: dict[str, Any], to_server: bool, ts_ns: int,
              offset: int, length: int) -> Output:
        pdvs, commands = 0, []
        while cur.left and pdvs < _MAX_PDVS:
            size = cur.u32("PDV length")
            if size < 2:
                raise Malformed("bad-pdv", f"PDV length {size}", cur.pos - 4)
            cur.u8("presentation context id")
            header = cur.u8("message control header")
            data = cur.take(size - 2, "PDV data")
            pdvs += 1
            if header & 0x01 and header & 0x02:          # a whole command set
                commands.append(_command(data))
        detail["pdvs"] = pdvs
        if not commands:
            return [self.event(to_server, ts_ns, offset, length, "p_data", "other",
                               detail=detail)]
        command, extra = commands[0]
        name, operation = COMMANDS.get(command & 0x7FFF, (f"command_{command:#06x}", "other"))
        detail.update(extra, command_field=f"{command:#06x}")
        return [self.event(to_server, ts_ns, offset, length, name, operation, detail=detail,
                           direction="response" if command & 0x8000 else "request")]
