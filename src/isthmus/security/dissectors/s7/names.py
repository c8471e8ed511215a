"""S7comm and S7comm-plus names: message types (ROSCTR), job functions and the operation
each performs, memory areas, PI services of PLC control, user-data function groups, SZL
ids, COTP TPDU types, S7comm-plus opcodes and functions. S7comm has no public
specification: the values follow the Wireshark S7comm and CISA ICSNPP-S7comm dissectors."""

from __future__ import annotations

__all__ = ["AREAS", "BLOCK_TYPES", "COTP_TYPES", "FUNCTIONS", "PI_SERVICES", "PLUS_FUNCTIONS",
           "PLUS_OPCODES", "ROSCTR", "SZL_IDS", "USERDATA_FUNCTIONS", "USERDATA_GROUPS"]

ROSCTR: dict[int, str] = {1: "job", 2: "ack", 3: "ack_data", 7: "userdata"}

#: job function code → (name, operation)
FUNCTIONS: dict[int, tuple[str, str]] = {
    0x00: ("cpu_services", "diagnostics"),
    0xF0: ("setup_communication", "session"),
    0x04: ("read_var", "read"),
    0x05: ("write_var", "write"),
    0x1A: ("request_download", "download"),
    0x1B: ("download_block", "download"),
    0x1C: ("download_ended", "download"),
    0x1D: ("start_upload", "upload"),
    0x1E: ("upload", "upload"),
    0x1F: ("end_upload", "upload"),
    0x28: ("plc_control", "program"),
    0x29: ("plc_stop", "cpu_stop"),
}

#: PLC control (0x28) PI service → operation. P_PROGRAM starts the program (warm or cold
#: start); _INSE activates a downloaded block, the last step of a program download.
PI_SERVICES: dict[str, str] = {
    "P_PROGRAM": "cpu_start",
    "_INSE": "download",
    "_DELE": "program",
    "_MODU": "program",
    "_GARB": "program",
    "_EXEC": "program",
}

AREAS: dict[int, str] = {
    0x03: "system_info", 0x05: "system_flags", 0x06: "analog_inputs_200",
    0x07: "analog_outputs_200", 0x1C: "counter", 0x1D: "timer", 0x1E: "iec_counter",
    0x1F: "iec_timer", 0x80: "direct_peripheral", 0x81: "inputs", 0x82: "outputs",
    0x83: "flags", 0x84: "data_block", 0x85: "instance_db", 0x86: "local", 0x87: "v_memory",
}

BLOCK_TYPES: dict[str, str] = {"08": "OB", "0A": "DB", "0B": "SDB", "0C": "FC", "0D": "SFC",
                               "0E": "FB", "0F": "SFB"}

#: user-data function group → name
USERDATA_GROUPS: dict[int, str] = {
    0x0: "mode_transition", 0x1: "programmer_commands", 0x2: "cyclic_data",
    0x3: "block_functions", 0x4: "cpu_functions", 0x5: "security", 0x6: "pbc",
    0x7: "time_functions", 0xF: "nc_programming",
}

#: (group, subfunction) → (name, operation); other subfunctions of a group use its default
USERDATA_FUNCTIONS: dict[tuple[int, int | None], tuple[str, str]] = {
    (0x4, 0x01): ("read_szl", "identify"),
    (0x4, 0x02): ("message_service", "subscribe"),
    (0x4, None): ("cpu_function", "diagnostics"),
    (0x7, 0x01): ("read_clock", "read"),
    (0x7, 0x02): ("set_clock", "time_sync"),
    (0x7, 0x03): ("read_clock_following", "read"),
    (0x7, 0x04): ("set_clock", "time_sync"),
    (0x7, None): ("time_function", "time_sync"),
    (0x3, 0x01): ("list_blocks", "browse"),
    (0x3, 0x02): ("list_blocks_of_type", "browse"),
    (0x3, 0x03): ("get_block_info", "browse"),
    (0x3, None): ("block_function", "browse"),
    (0x5, 0x01): ("plc_password", "session"),
    (0x5, None): ("security", "session"),
    (0x2, None): ("cyclic_data", "subscribe"),
    (0x1, None): ("programmer_command", "program"),
    (0xF, None): ("nc_programming", "program"),
    (0x0, None): ("mode_transition", "diagnostics"),
    (0x6, None): ("pbc", "other"),
}

SZL_IDS: dict[int, str] = {
    0x0000: "szl_list", 0x0011: "module_identification", 0x0111: "module_identification",
    0x001C: "component_identification", 0x011C: "component_identification",
    0x0131: "communication_capabilities", 0x0232: "protection_level",
    0x0424: "operating_mode", 0x0074: "led_status", 0x00A0: "diagnostic_buffer",
}

COTP_TYPES: dict[int, str] = {0xE0: "connect_request", 0xD0: "connect_confirm",
                              0x80: "disconnect_request", 0xC0: "disconnect_confirm",
                              0xF0: "data", 0x10: "expedited_data", 0x60: "data_ack",
                              0x20: "expedited_ack", 0x50: "reject", 0x70: "error"}

PLUS_OPCODES: dict[int, str] = {0x31: "request", 0x32: "response", 0x33: "notification"}

#: S7comm-plus function → (name, operation)
PLUS_FUNCTIONS: dict[int, tuple[str, str]] = {
    0x04BB: ("explore", "browse"),
    0x04CA: ("create_object", "session"),
    0x04D4: ("delete_object", "session"),
    0x04F2: ("set_variable", "write"),
    0x0524: ("get_link", "read"),
    0x0542: ("set_multi_variables", "write"),
    0x054C: ("get_multi_variables", "read"),
    0x0556: ("begin_sequence", "program"),
    0x0560: ("end_sequence", "program"),
    0x056B: ("invoke", "call"),
    0x0586: ("get_var_sub_streamed", "read"),
}
