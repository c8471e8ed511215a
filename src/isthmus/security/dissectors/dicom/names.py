"""DICOM upper-layer PDU types and DIMSE command fields (PS3.8 §9.3, PS3.7 §E.1)."""

from __future__ import annotations

__all__ = ["COMMANDS", "PDU_TYPES"]

PDU_TYPES = {1: "associate_rq", 2: "associate_ac", 3: "associate_rj", 4: "p_data",
             5: "release_rq", 6: "release_rp", 7: "abort"}

#: command field (request; a response sets bit 15) → (name, operation)
COMMANDS: dict[int, tuple[str, str]] = {
    0x0001: ("c_store", "write"), 0x0010: ("c_get", "read"), 0x0020: ("c_find", "read"),
    0x0021: ("c_move", "read"), 0x0030: ("c_echo", "diagnostics"),
    0x0100: ("n_event_report", "unsolicited"), 0x0110: ("n_get", "read"),
    0x0120: ("n_set", "write"), 0x0130: ("n_action", "call"), 0x0140: ("n_create", "write"),
    0x0150: ("n_delete", "write"), 0x0FFF: ("c_cancel", "other"),
}
