"""Modbus names: public function codes and the operation each performs, exception codes,
diagnostics sub-functions, device-identification objects, and Schneider UMAS functions
(carried in function code 90)."""

from __future__ import annotations

__all__ = [
           "DEVICE_ID_OBJECTS",
           "DIAGNOSTICS",
           "EXCEPTIONS",
           "FUNCTIONS",
           "MEI_TYPES",
           "UMAS",
           "UMAS_FUNCTIONS",
]

UMAS = 90

#: function code → (name, operation)
FUNCTIONS: dict[int, tuple[str, str]] = {
    1: ("read_coils", "read"),
    2: ("read_discrete_inputs", "read"),
    3: ("read_holding_registers", "read"),
    4: ("read_input_registers", "read"),
    5: ("write_single_coil", "write"),
    6: ("write_single_register", "write"),
    7: ("read_exception_status", "diagnostics"),
    8: ("diagnostics", "diagnostics"),
    11: ("get_comm_event_counter", "diagnostics"),
    12: ("get_comm_event_log", "diagnostics"),
    15: ("write_multiple_coils", "write"),
    16: ("write_multiple_registers", "write"),
    17: ("report_server_id", "identify"),
    20: ("read_file_record", "read"),
    21: ("write_file_record", "write"),
    22: ("mask_write_register", "write"),
    23: ("read_write_multiple_registers", "read_write"),
    24: ("read_fifo_queue", "read"),
    43: ("encapsulated_interface_transport", "encapsulated"),
    UMAS: ("umas", "program"),
}

#: MEI type (function 43) → (name, operation)
MEI_TYPES: dict[int, tuple[str, str]] = {
    13: ("canopen_general_reference", "encapsulated"),
    14: ("read_device_identification", "identify"),
}

EXCEPTIONS: dict[int, str] = {
    1: "illegal_function",
    2: "illegal_data_address",
    3: "illegal_data_value",
    4: "server_device_failure",
    5: "acknowledge",
    6: "server_device_busy",
    7: "negative_acknowledge",
    8: "memory_parity_error",
    10: "gateway_path_unavailable",
    11: "gateway_target_device_failed_to_respond",
}

DIAGNOSTICS: dict[int, str] = {
    0: "return_query_data",
    1: "restart_communications_option",
    2: "return_diagnostic_register",
    3: "change_ascii_input_delimiter",
    4: "force_listen_only_mode",
    10: "clear_counters_and_diagnostic_register",
    11: "return_bus_message_count",
    12: "return_bus_communication_error_count",
    13: "return_bus_exception_error_count",
    14: "return_server_message_count",
    15: "return_server_no_response_count",
    16: "return_server_nak_count",
    17: "return_server_busy_count",
    18: "return_bus_character_overrun_count",
    20: "clear_overrun_counter_and_flag",
}

DEVICE_ID_OBJECTS: dict[int, str] = {
    0: "vendor_name",
    1: "product_code",
    2: "revision",
    3: "vendor_url",
    4: "product_name",
    5: "model_name",
    6: "user_application_name",
}

#: UMAS function codes as published in ICS security research on Schneider Modicon PLCs.
UMAS_FUNCTIONS: dict[int, str] = {
    0x01: "init_comm",
    0x02: "read_id",
    0x03: "read_project_info",
    0x04: "read_plc_info",
    0x06: "read_card_info",
    0x0A: "repeat",
    0x10: "take_plc_reservation",
    0x11: "release_plc_reservation",
    0x12: "keep_alive",
    0x20: "read_memory_block",
    0x22: "read_variables",
    0x23: "write_variables",
    0x24: "read_coils_registers",
    0x25: "write_coils_registers",
    0x30: "initialize_upload",
    0x31: "upload_block",
    0x32: "end_strategy_upload",
    0x33: "initialize_download",
    0x34: "download_block",
    0x35: "end_download",
    0x39: "read_ethernet_master_data",
    0x40: "start_plc",
    0x41: "stop_plc",
    0x50: "monitor_plc",
    0x58: "check_plc",
    0x70: "read_io_object",
    0x71: "write_io_object",
    0x73: "get_status_module",
    0xFD: "response_error",
    0xFE: "response_ok",
}
