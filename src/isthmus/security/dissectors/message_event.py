"""The event shape shared by the message-oriented dissectors (OPC UA, MQTT, HL7, DICOM,
BACnet, the IT protocols): a function name, an optional address and values, the
protocol's own detail fields and, when the message reveals it, the sender's identity."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from isthmus.security.events import ProtocolEvent

__all__ = ["MessageEvent"]


@dataclass
class MessageEvent(ProtocolEvent):
    function: str = ""
    address: str | int | None = None
    values: list[Any] | None = None
    detail: dict[str, Any] = field(default_factory=dict)
    identity: dict[str, str] | None = None    # what the message says about its sender
    offset: int = 0                           # stream offset of the message in its direction

    #: True when a *request* may identify its sender (an HL7 message names its sending
    #: application, a DICOM association request its implementation): the monitor then
    #: files the identity under the client. Responses always identify the server.
    identifies_sender: ClassVar[bool] = False

    def fields(self) -> dict[str, Any]:
        out: dict[str, Any] = {"function": self.function, "direction": self.direction,
                               "operation": self.operation}
        if self.address is not None:
            out["address"] = self.address
        if self.values is not None:
            out["values"] = self.values
        out.update(self.detail)
        return out

    def device_identity(self) -> dict[str, str] | None:
        return dict(self.identity) if self.identity else None

    def summary(self) -> str:
        text = f"{self.protocol} {self.function} {self.direction}"
        if self.address is not None:
            text += f" {self.address}"
        return text
