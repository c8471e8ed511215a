"""DNP3 names: application function codes and the operation each performs, link-layer
functions, internal-indication (IIN) bits and the sizes of the objects whose values the
dissector reads (IEEE 1815)."""

from __future__ import annotations

__all__ = ["FUNCTIONS", "IIN_BITS", "LINK_PRIMARY", "LINK_SECONDARY", "OBJECT_SIZES",
           "QUALIFIER_PREFIX_SIZES", "RESPONSE", "UNSOLICITED_RESPONSE"]

RESPONSE, UNSOLICITED_RESPONSE, AUTH_RESPONSE = 129, 130, 131

#: application function code → (name, operation)
FUNCTIONS: dict[int, tuple[str, str]] = {
    0: ("confirm", "session"),
    1: ("read", "read"),
    2: ("write", "write"),
    3: ("select", "select"),
    4: ("operate", "operate"),
    5: ("direct_operate", "operate"),
    6: ("direct_operate_nr", "operate"),
    7: ("immediate_freeze", "operate"),
    8: ("immediate_freeze_nr", "operate"),
    9: ("freeze_clear", "operate"),
    10: ("freeze_clear_nr", "operate"),
    11: ("freeze_at_time", "operate"),
    12: ("freeze_at_time_nr", "operate"),
    13: ("cold_restart", "restart"),
    14: ("warm_restart", "restart"),
    15: ("initialize_data", "restart"),
    16: ("initialize_application", "restart"),
    17: ("start_application", "cpu_start"),
    18: ("stop_application", "cpu_stop"),
    19: ("save_configuration", "program"),
    20: ("enable_unsolicited", "control"),
    21: ("disable_unsolicited", "control"),
    22: ("assign_class", "control"),
    23: ("delay_measure", "time_sync"),
    24: ("record_current_time", "time_sync"),
    25: ("open_file", "file"),
    26: ("close_file", "file"),
    27: ("delete_file", "file"),
    28: ("get_file_info", "file"),
    29: ("authenticate_file", "file"),
    30: ("abort_file", "file"),
    31: ("activate_config", "program"),
    32: ("authentication_request", "session"),
    33: ("authentication_request_no_ack", "session"),
    RESPONSE: ("response", "read"),
    UNSOLICITED_RESPONSE: ("unsolicited_response", "unsolicited"),
    AUTH_RESPONSE: ("authentication_response", "session"),
}

#: link function codes of primary (PRM=1) and secondary (PRM=0) frames
LINK_PRIMARY: dict[int, str] = {0: "reset_link_states", 2: "test_link_states",
                                3: "confirmed_user_data", 4: "unconfirmed_user_data",
                                9: "request_link_status"}
LINK_SECONDARY: dict[int, str] = {0: "ack", 1: "nack", 11: "link_status",
                                  15: "not_supported"}

#: IIN1 bits 0–7, then IIN2 bits 0–7
IIN_BITS: tuple[str, ...] = (
    "broadcast", "class_1_events", "class_2_events", "class_3_events", "need_time",
    "local_control", "device_trouble", "device_restart",
    "no_func_code_support", "object_unknown", "parameter_error", "event_buffer_overflow",
    "already_executing", "config_corrupt", "reserved_2", "reserved_1",
)

#: object prefix code (qualifier bits 6–4) → bytes of the index/size prefix per object
QUALIFIER_PREFIX_SIZES: dict[int, int] = {0: 0, 1: 1, 2: 2, 3: 4, 4: 1, 5: 2, 6: 4}

#: (group, variation) → bytes per object, for the objects whose values are read or skipped
OBJECT_SIZES: dict[tuple[int, int], int] = {
    (12, 1): 11, (12, 2): 11, (12, 3): 11,           # control relay output block, PCB
    (41, 1): 5, (41, 2): 3, (41, 3): 5, (41, 4): 9,  # analog output commands
    (50, 1): 6, (50, 3): 6,                          # time and date
    (52, 1): 2, (52, 2): 2,                          # time delay
    (20, 1): 5, (20, 2): 3, (20, 5): 4, (20, 6): 2,  # counters
    (30, 1): 5, (30, 2): 3, (30, 3): 4, (30, 4): 2, (30, 5): 5, (30, 6): 9,  # analog inputs
    (40, 1): 5, (40, 2): 3, (40, 3): 5, (40, 4): 9,  # analog output status
    (1, 2): 1, (10, 2): 1,                           # binary input / output with flags
}
