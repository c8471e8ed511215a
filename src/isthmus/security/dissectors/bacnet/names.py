"""BACnet service, object type and property names (ASHRAE 135, clause 21), each service
with the operation it performs."""

from __future__ import annotations

__all__ = ["CONFIRMED", "OBJECT_TYPES", "PROPERTIES", "REINITIALIZE_STATES", "UNCONFIRMED"]

CONFIRMED: dict[int, tuple[str, str]] = {
    0: ("acknowledge_alarm", "other"), 1: ("confirmed_cov_notification", "publish"),
    2: ("confirmed_event_notification", "publish"), 3: ("get_alarm_summary", "read"),
    4: ("get_enrollment_summary", "read"), 5: ("subscribe_cov", "subscribe"),
    6: ("atomic_read_file", "file"), 7: ("atomic_write_file", "file"),
    8: ("add_list_element", "write"), 9: ("remove_list_element", "write"),
    10: ("create_object", "write"), 11: ("delete_object", "write"),
    12: ("read_property", "read"), 13: ("read_property_conditional", "read"),
    14: ("read_property_multiple", "read"), 15: ("write_property", "write"),
    16: ("write_property_multiple", "write"), 17: ("device_communication_control", "control"),
    18: ("confirmed_private_transfer", "other"), 19: ("confirmed_text_message", "other"),
    20: ("reinitialize_device", "restart"), 21: ("vt_open", "session"),
    22: ("vt_close", "session"), 23: ("vt_data", "other"), 24: ("authenticate", "session"),
    25: ("request_key", "session"), 26: ("read_range", "read"),
    27: ("life_safety_operation", "operate"), 28: ("subscribe_cov_property", "subscribe"),
    29: ("get_event_information", "read"), 30: ("subscribe_cov_property_multiple", "subscribe"),
    31: ("confirmed_cov_notification_multiple", "publish"),
    32: ("confirmed_audit_notification", "publish"), 33: ("audit_log_query", "read"),
}
UNCONFIRMED: dict[int, tuple[str, str]] = {
    0: ("i_am", "identify"), 1: ("i_have", "identify"),
    2: ("unconfirmed_cov_notification", "publish"),
    3: ("unconfirmed_event_notification", "publish"),
    4: ("unconfirmed_private_transfer", "other"), 5: ("unconfirmed_text_message", "other"),
    6: ("time_synchronization", "time_sync"), 7: ("who_has", "identify"),
    8: ("who_is", "identify"), 9: ("utc_time_synchronization", "time_sync"),
    10: ("write_group", "write"), 11: ("unconfirmed_cov_notification_multiple", "publish"),
    12: ("unconfirmed_audit_notification", "publish"), 13: ("who_am_i", "identify"),
    14: ("you_are", "identify"),
}
OBJECT_TYPES = {
    0: "analog_input", 1: "analog_output", 2: "analog_value", 3: "binary_input",
    4: "binary_output", 5: "binary_value", 6: "calendar", 7: "command", 8: "device",
    9: "event_enrollment", 10: "file", 11: "group", 12: "loop", 13: "multi_state_input",
    14: "multi_state_output", 15: "notification_class", 16: "program", 17: "schedule",
    18: "averaging", 19: "multi_state_value", 20: "trend_log", 21: "life_safety_point",
    22: "life_safety_zone", 23: "accumulator", 24: "pulse_converter", 25: "event_log",
    27: "trend_log_multiple", 28: "load_control", 29: "structured_view", 30: "access_door",
}
PROPERTIES = {
    12: "application_software_version", 28: "description", 36: "event_state",
    44: "firmware_revision", 70: "model_name", 75: "object_identifier", 76: "object_list",
    77: "object_name", 79: "object_type", 81: "out_of_service", 85: "present_value",
    87: "priority_array", 103: "reliability", 104: "relinquish_default",
    111: "status_flags", 112: "system_status", 117: "units", 120: "vendor_identifier",
    121: "vendor_name", 8: "all",
}
REINITIALIZE_STATES = {0: "coldstart", 1: "warmstart", 2: "start_backup", 3: "end_backup",
                       4: "start_restore", 5: "end_restore", 6: "abort_restore",
                       7: "activate_changes"}
