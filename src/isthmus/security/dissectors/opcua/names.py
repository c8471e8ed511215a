"""OPC UA service names by the numeric id of their binary encoding (namespace 0).

The ids are those of NodeIds.csv in the OPC UA specification (Part 6); they were checked
against asyncua 2.1.0's `ua.ObjectIds`, which is generated from that file."""

from __future__ import annotations

__all__ = ["SECURITY_MODES", "SERVICES", "SERVICE_FAULT"]

# service → (request encoding id, operation); the response id is the request id + 3
_SERVICES: dict[str, tuple[int, str]] = {
    "find_servers": (422, "browse"), "get_endpoints": (428, "browse"),
    "register_server": (437, "other"), "open_secure_channel": (446, "session"),
    "close_secure_channel": (452, "session"), "create_session": (461, "session"),
    "activate_session": (467, "session"), "close_session": (473, "session"),
    "cancel": (479, "session"), "add_nodes": (488, "write"), "add_references": (494, "write"),
    "delete_nodes": (500, "write"), "delete_references": (506, "write"),
    "browse": (527, "browse"), "browse_next": (533, "browse"),
    "translate_browse_paths": (554, "browse"), "register_nodes": (560, "browse"),
    "unregister_nodes": (566, "browse"), "query_first": (615, "read"),
    "query_next": (621, "read"), "read": (631, "read"), "history_read": (664, "read"),
    "write": (673, "write"), "history_update": (700, "write"), "call": (712, "call"),
    "create_monitored_items": (751, "subscribe"), "modify_monitored_items": (763, "subscribe"),
    "set_monitoring_mode": (769, "subscribe"), "set_triggering": (775, "subscribe"),
    "delete_monitored_items": (781, "subscribe"), "create_subscription": (787, "subscribe"),
    "modify_subscription": (793, "subscribe"), "set_publishing_mode": (799, "subscribe"),
    "publish": (826, "subscribe"), "republish": (832, "subscribe"),
    "transfer_subscriptions": (841, "subscribe"), "delete_subscriptions": (847, "subscribe"),
    "find_servers_on_network": (12208, "browse"),
}

SERVICE_FAULT = 397

#: encoding id → (service name, operation, is_response)
SERVICES: dict[int, tuple[str, str, bool]] = {SERVICE_FAULT: ("service_fault", "other", True)}
for _name, (_id, _operation) in _SERVICES.items():
    SERVICES[_id] = (_name, _operation, False)
    # FindServersOnNetwork's response is 12209, every other response is request + 3
    SERVICES[_id + (1 if _id == 12208 else 3)] = (_name, _operation, True)

SECURITY_MODES = {1: "none", 2: "sign", 3: "sign_and_encrypt"}
