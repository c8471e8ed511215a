"""What a message really does, when its operation alone is too coarse: Modbus function 90
(Schneider UMAS) carries downloads, uploads and CPU start/stop under one `program`
operation, and diagnostics sub-function 1 restarts a device's communications.

`refined(event)` reads the event's `subfunction_name` (or `function`) through these tables;
other protocols' dissectors already set the precise operation, which passes through."""

from __future__ import annotations

from isthmus.security.events import ProtocolEvent

__all__ = ["REFINEMENTS", "needs_refining", "refined"]

#: operation a dissector reported → {sub-function or function name → precise operation}
REFINEMENTS: dict[str, dict[str, str]] = {
    "program": {
        "initialize_download": "download", "download_block": "download",
        "end_download": "download", "initialize_upload": "upload",
        "upload_block": "upload", "end_strategy_upload": "upload",
        "start_plc": "cpu_start", "stop_plc": "cpu_stop",
    },
    "diagnostics": {
        "restart_communications_option": "restart",
        "force_listen_only_mode": "control",
    },
}


def needs_refining(operation: str) -> bool:
    return operation in REFINEMENTS


def refined(event: ProtocolEvent) -> tuple[str, str]:
    """(operation, function name) of `event`, the sub-function named where it decides."""
    function = str(getattr(event, "function", "") or "")
    table = REFINEMENTS.get(event.operation)
    if table is None:
        return event.operation, function
    sub = getattr(event, "subfunction_name", None)
    for name in (sub, function):
        if isinstance(name, str) and name in table:
            return table[name], name
    return event.operation, str(sub) if isinstance(sub, str) else function
