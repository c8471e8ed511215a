"""One HL7 v2 connection over MLLP (0x0B message 0x1C 0x0D): the MSH header (sending and
receiving application and facility, message type, control id, version) and MSA
acknowledgements. Only header fields are reported: never the content of PID or any
other segment that may identify a patient (segment names only)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from isthmus.security.dissectors.base import Output
from isthmus.security.dissectors.message_event import MessageEvent
from isthmus.security.dissectors.message_session import Malformed, MessageSession

__all__ = ["ACK_CODES", "Hl7Event", "Hl7Session", "frame_length"]

START, END = b"\x0b", b"\x1c\x0d"
_MAX_MESSAGE = 1 << 20
_MAX_FIELD = 100            # characters kept of a header field
_MAX_SEGMENTS = 64          # segment names listed per message
ACK_CODES = {"AA": "accept", "AE": "error", "AR": "reject", "CA": "commit_accept",
             "CE": "commit_error", "CR": "commit_reject"}
# MSH field number → key (MSH-1 is the separator itself, so split index = number - 1)
_MSH = {3: "sending_application", 4: "sending_facility", 5: "receiving_application",
        6: "receiving_facility", 9: "message_type", 10: "control_id", 11: "processing_id",
        12: "version"}


@dataclass
class Hl7Event(MessageEvent):
    identifies_sender: ClassVar[bool] = True

    def summary(self) -> str:
        return (f"hl7 {self.detail.get('message_type', '?')} from "
                f"{self.detail.get('sending_application', '?')} to "
                f"{self.detail.get('receiving_application', '?')}")


def frame_length(buf: bytes, pos: int) -> int | None:
    if pos >= len(buf):
        return None
    if buf[pos:pos + 1] != START:
        raise Malformed("bad-framing", f"MLLP block starts with {buf[pos]:#04x}, not 0x0b")
    end = buf.find(END, pos + 1)
    return None if end < 0 else end + 2 - pos


def _header(msh: str) -> dict[str, str]:
    fields = msh.split(msh[3]) if len(msh) > 3 else []
    out: dict[str, str] = {}
    for number, key in _MSH.items():
        if number - 1 < len(fields) and fields[number - 1]:
            out[key] = fields[number - 1][:_MAX_FIELD]
    return out


class Hl7Session(MessageSession):
    protocol = "hl7"
    event_type = Hl7Event
    max_message = _MAX_MESSAGE

    def frame(self, buf: bytes, pos: int, to_server: bool) -> int | None:
        return frame_length(buf, pos)

    def sync(self, buf: bytes, pos: int, to_server: bool) -> int | None:
        found = buf.find(START + b"MSH", pos)
        return None if found < 0 else found

    def message(self, msg: bytes, to_server: bool, ts_ns: int, offset: int) -> Output:
        text = msg[1:-2].decode("latin-1")
        segments = [s for s in text.replace("\n", "\r").split("\r") if s]
        if not segments or not segments[0].startswith("MSH") or len(segments[0]) < 8:
            raise Malformed("no-msh", "HL7 message does not start with an MSH segment", 1)
        detail: dict[str, Any] = _header(segments[0])
        detail["segments"] = [s[:3] for s in segments[:_MAX_SEGMENTS]]
        msa = next((s for s in segments if s.startswith("MSA")), None)
        kind = detail.get("message_type", "")
        if msa is not None:
            parts = msa.split(segments[0][3])
            code = parts[1] if len(parts) > 1 else ""
            detail["ack_code"] = code[:4]
            detail["ack"] = ACK_CODES.get(code, "unknown")
            if len(parts) > 2:
                detail["acknowledged_control_id"] = parts[2][:_MAX_FIELD]
        is_ack = kind.startswith("ACK") or msa is not None
        identity = {"product": detail["sending_application"]} \
            if detail.get("sending_application") else None
        if identity is not None and detail.get("sending_facility"):
            identity["facility"] = detail["sending_facility"]
        event = self.event(to_server, ts_ns, offset, len(msg),
                           "ack" if is_ack else kind.replace("^", "_")[:40] or "message",
                           "other" if is_ack else "publish", detail=detail, identity=identity,
                           direction="response" if is_ack else "request")
        return [event]
