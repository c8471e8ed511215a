"""Modbus/TCP connector: request planning, serialised polling per link, report by exception."""

from isthmus.connectors.modbus.connector import ModbusConnector, build_connectors
from isthmus.connectors.modbus.errors import (
    ModbusConnectionError,
    ModbusError,
    ModbusExceptionResponse,
    ModbusProtocolError,
    ModbusTimeout,
)
from isthmus.connectors.modbus.health import ModbusHealth
from isthmus.connectors.modbus.planner import RequestPlan, format_plan, plan_requests, plan_site
from isthmus.connectors.modbus.poller import PollOptions

__all__ = [
    "ModbusConnectionError",
    "ModbusConnector",
    "ModbusError",
    "ModbusExceptionResponse",
    "ModbusHealth",
    "ModbusProtocolError",
    "ModbusTimeout",
    "PollOptions",
    "RequestPlan",
    "build_connectors",
    "format_plan",
    "plan_requests",
    "plan_site",
]
