"""Passive OT security monitor: reads captures, reassembles TCP, dissects industrial
protocols, keeps an asset inventory and a communication map. It never sends a packet."""

from __future__ import annotations

from isthmus.security.ecs import to_ecs
from isthmus.security.errors import CaptureFormatError, SecurityMonitorError
from isthmus.security.events import Anomaly, FlowKey, ProtocolEvent
from isthmus.security.flows import CommunicationMap
from isthmus.security.inventory import Host, Inventory
from isthmus.security.monitor import Monitor, MonitorEvent, MonitorSummary, Progress

__all__ = [
           "Anomaly",
           "CaptureFormatError",
           "CommunicationMap",
           "FlowKey",
           "Host",
           "Inventory",
           "Monitor",
           "MonitorEvent",
           "MonitorSummary",
           "Progress",
           "ProtocolEvent",
           "SecurityMonitorError",
           "to_ecs",
]
