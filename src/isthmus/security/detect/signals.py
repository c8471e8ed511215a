"""What rules look at besides single protocol events: rebuilt multi-message operations
("program download to 10.0.0.5 (7 blocks) by 10.0.0.9") and baseline deviations."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from isthmus.security.events import FlowKey

__all__ = ["DEVIATIONS", "Signal"]

#: deviation kinds raised in protect mode, with what each means
DEVIATIONS: dict[str, str] = {
    "new_host": "a host in the OT zone that the baseline never saw",
    "new_protocol": "a protocol the baseline never saw in that zone",
    "new_link": "a (client, server, protocol) link the baseline never saw",
    "new_function": "an operation/function never used on that link",
    "write_address": "a write outside the address ranges learned for that link and unit",
    "write_value": "a written value outside the range learned for that address",
    "new_master": "a host writing/operating to a server it never wrote to",
    "poll_stopped": "a periodic poll missing for more than k × its learned period",
    "unsolicited_not_outstation": "unsolicited responses from a host that is not the "
                                  "outstation of that link (never polled on it)",
    "unsolicited_rate": "unsolicited responses at a rate far above the learned one",
}


@dataclass(slots=True)
class Signal:
    """`kind` is 'operation' (name: download, upload, cpu_stop, cpu_start, restart) or
    'deviation' (name: one of DEVIATIONS)."""

    kind: str
    name: str
    ts_ns: int
    protocol: str
    client: str
    server: str
    message: str
    flow: FlowKey | None = None
    evidence: list[str] = field(default_factory=list)
    count: int = 1
    detail: dict[str, Any] = field(default_factory=dict)
