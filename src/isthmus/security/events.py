"""What the security monitor reports: flow keys, protocol events and anomalies.

Events are plain slotted dataclasses; `isthmus.security.ecs` turns them into ECS-like JSON.
`ProtocolEvent` is compiled by `make native`: its subclasses outside the compiled modules are
dataclasses *without* `slots=True`, whose slots would hide the compiled base's fields.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mypy_extensions import mypyc_attr

from isthmus.model import Severity

__all__ = ["Anomaly", "FlowKey", "ProtocolEvent"]


@dataclass(frozen=True, slots=True)
class FlowKey:
    """One direction of a conversation: who sent (src, sport) to whom (dst, dport)."""

    src: str
    sport: int
    dst: str
    dport: int
    transport: str = "tcp"

    def reversed(self) -> FlowKey:
        return FlowKey(self.dst, self.dport, self.src, self.sport, self.transport)


@mypyc_attr(allow_interpreted_subclasses=True)   # the interpreted dissectors' events
@dataclass(slots=True)
class ProtocolEvent:
    """One application message seen on the wire (a request, a response, …)."""

    ts_ns: int
    flow: FlowKey
    protocol: str
    direction: str                  # "request" | "response"
    operation: str                  # read, write, diagnostics, program, identify, …
    severity: Severity
    length: int                     # bytes of the message on the wire (its own header on)

    def fields(self) -> dict[str, Any]:
        """The protocol's own fields (placed under the protocol's name in ECS output)."""
        return {}

    def device_identity(self) -> dict[str, str] | None:
        """Vendor, product code, revision … when the message answers an identification
        request; None otherwise."""
        return None

    def may_identify_server(self) -> bool:
        """Whether this answer may identify the device that sent it: the monitor asks
        `device_identity` of those alone (by default every answer may)."""
        return True

    def summary(self) -> str:
        """One line for people."""
        return f"{self.protocol} {self.operation} {self.direction}"


@dataclass(slots=True)
class Anomaly:
    """Something malformed or lost: a truncated capture, a bad header, a TCP gap, a frame
    that is not the protocol it claims to be. Counted and reported, never raised.

    `layer` is capture, link, ip, tcp, udp or a protocol name; `offset` is the byte offset
    where the problem starts, in the file (capture), the frame (link … udp) or the
    direction's byte stream (tcp gaps and protocols).
    """

    ts_ns: int
    layer: str
    reason: str
    message: str
    offset: int | None = None
    flow: FlowKey | None = None
    severity: Severity = Severity.LOW
    source: str = ""                # capture file, when known
