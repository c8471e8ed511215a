"""EtherNet/IP and CIP names: encapsulation commands, common packet format item types, CIP
services (common and the Rockwell/connection-manager ones, which depend on the class) with
the operation each performs, CIP classes and general status codes (ODVA CIP Vol. 1/2)."""

from __future__ import annotations

__all__ = ["CLASSES", "COMMANDS", "CONNECTION_MANAGER", "CONNECTION_MANAGER_SERVICES",
           "CPF_ITEMS", "GENERAL_STATUS", "SERVICES"]

CONNECTION_MANAGER = 0x06

#: encapsulation command → (name, operation)
COMMANDS: dict[int, tuple[str, str]] = {
    0x0000: ("nop", "session"),
    0x0004: ("list_services", "identify"),
    0x0063: ("list_identity", "identify"),
    0x0064: ("list_interfaces", "identify"),
    0x0065: ("register_session", "session"),
    0x0066: ("unregister_session", "session"),
    0x006F: ("send_rr_data", "encapsulated"),
    0x0070: ("send_unit_data", "encapsulated"),
    0x0072: ("indicate_status", "session"),
    0x0073: ("cancel", "session"),
}

CPF_ITEMS: dict[int, str] = {0x0000: "null_address", 0x000C: "identity", 0x00A1:
                             "connected_address", 0x00B1: "connected_data", 0x00B2:
                             "unconnected_data", 0x0100: "list_services", 0x8000:
                             "sockaddr_o_t", 0x8001: "sockaddr_t_o", 0x8002: "sequenced_address"}

#: CIP service → (name, operation), for any class
SERVICES: dict[int, tuple[str, str]] = {
    0x01: ("get_attributes_all", "read"),
    0x02: ("set_attributes_all", "write"),
    0x03: ("get_attribute_list", "read"),
    0x04: ("set_attribute_list", "write"),
    0x05: ("reset", "restart"),
    0x06: ("start", "cpu_start"),
    0x07: ("stop", "cpu_stop"),
    0x08: ("create", "program"),
    0x09: ("delete", "program"),
    0x0A: ("multiple_service_packet", "read"),
    0x0D: ("apply_attributes", "write"),
    0x0E: ("get_attribute_single", "read"),
    0x10: ("set_attribute_single", "write"),
    0x11: ("find_next_object_instance", "browse"),
    0x15: ("restore", "program"),
    0x16: ("save", "program"),
    0x17: ("nop", "session"),
    0x18: ("get_member", "read"),
    0x19: ("set_member", "write"),
    0x1A: ("insert_member", "write"),
    0x1B: ("remove_member", "write"),
    0x4C: ("read_tag", "read"),
    0x4D: ("write_tag", "write"),
    0x4E: ("read_modify_write_tag", "write"),
    0x52: ("read_tag_fragmented", "read"),
    0x53: ("write_tag_fragmented", "write"),
    0x55: ("get_instance_attribute_list", "browse"),
}

#: services of the connection manager (class 6), which reuse codes of the tag services
CONNECTION_MANAGER_SERVICES: dict[int, tuple[str, str]] = {
    0x4E: ("forward_close", "session"),
    0x52: ("unconnected_send", "encapsulated"),
    0x54: ("forward_open", "session"),
    0x5B: ("large_forward_open", "session"),
    0x5A: ("get_connection_owner", "read"),
}

CLASSES: dict[int, str] = {0x01: "identity", 0x02: "message_router", 0x04: "assembly",
                           0x06: "connection_manager", 0x8E: "controller", 0xF4: "port",
                           0xF5: "tcp_ip_interface", 0xF6: "ethernet_link", 0x6B: "symbol",
                           0x6C: "template", 0xAC: "program"}

GENERAL_STATUS: dict[int, str] = {
    0x00: "success", 0x01: "connection_failure", 0x02: "resource_unavailable",
    0x03: "invalid_parameter_value", 0x04: "path_segment_error",
    0x05: "path_destination_unknown", 0x06: "partial_transfer", 0x08: "service_not_supported",
    0x09: "invalid_attribute_value", 0x0C: "object_state_conflict",
    0x0E: "attribute_not_settable", 0x0F: "privilege_violation", 0x10: "device_state_conflict",
    0x13: "not_enough_data", 0x14: "attribute_not_supported", 0x15: "too_much_data",
    0x16: "object_does_not_exist", 0x1E: "embedded_service_error", 0x20: "invalid_parameter",
}
