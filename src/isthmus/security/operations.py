"""The operation vocabulary every dissector speaks, so that inventory, baselines and
detections reason about *what a message does* rather than each protocol's codes.

A dissector sets `ProtocolEvent.operation` to one of these names (the string, not the
constant, travels in events and baselines). Protocol-specific detail stays in the event's
own fields (`function`, `address`, `quantity`, `values`, …).
"""

from __future__ import annotations

__all__ = ["DANGEROUS", "OPERATIONS"]

OPERATIONS: dict[str, str] = {
    "read": "reads process values or configuration",
    "write": "writes process values or configuration",
    "read_write": "reads and writes in one message",
    "select": "selects an output before operating it (select-before-operate)",
    "operate": "operates an output or sends a process command (DNP3 operate, IEC-104 command)",
    "identify": "asks for or reports device identity (vendor, model, firmware)",
    "diagnostics": "diagnostic counters, loopback, event logs",
    "program": "vendor programming/engineering function not otherwise classified",
    "download": "transfers program or configuration blocks to a device",
    "upload": "transfers program or configuration blocks from a device",
    "cpu_stop": "stops the controller's program (or puts it in program mode)",
    "cpu_start": "starts the controller's program (or puts it in run mode)",
    "restart": "restarts or re-initialises a device (cold/warm restart, reset)",
    "file": "file transfer or directory operations on a device",
    "unsolicited": "a report the device sends without being polled (or its enable/disable)",
    "control": "changes communication behaviour (disable reporting, device communication control)",
    "time_sync": "sets or synchronises the device clock",
    "session": "opens, keeps alive or closes an application session or association",
    "browse": "browses or discovers the address space",
    "call": "calls a method or function on the server",
    "subscribe": "subscribes to data changes or topics",
    "publish": "publishes data (pub/sub protocols)",
    "encapsulated": "carries another protocol's message",
    "other": "anything not classified above",
}

#: Operations that change a device's state or programme: what detections care about most.
DANGEROUS: frozenset[str] = frozenset({
    "write", "read_write", "select", "operate", "program", "download", "upload", "cpu_stop",
    "cpu_start", "restart", "file", "control", "time_sync",
})
