"""Passive asset inventory: every host seen, its MAC addresses, when, which protocols it
speaks as client or server, what it does (operations), a role guess, and the identity a
device reported about itself (Modbus 43/14: vendor, product code, revision)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from isthmus.security.events import ProtocolEvent
from isthmus.security.oui import OuiTable, default_oui_table
from isthmus.security.roles import Role, infer_role

__all__ = ["Host", "Inventory"]


@dataclass(slots=True)
class Host:
    ip: str
    first_seen: int
    last_seen: int
    macs: set[str] = field(default_factory=set)
    client_of: set[str] = field(default_factory=set)      # protocols it speaks as client
    server_of: set[str] = field(default_factory=set)      # protocols it answers
    operations: dict[str, int] = field(default_factory=dict)   # requests it sent, by kind
    identity: dict[str, str] = field(default_factory=dict)
    servers: set[str] = field(default_factory=set)         # hosts it sent requests to

    @property
    def role(self) -> str:
        return self.classify().name

    def classify(self) -> Role:
        """The role guessed from behaviour, with its reasons (see `roles.infer_role`)."""
        return infer_role(client_of=self.client_of, server_of=self.server_of,
                          operations=self.operations, servers=len(self.servers))

    def to_dict(self, oui: OuiTable | None = None) -> dict[str, Any]:
        role = self.classify()
        vendors = {m: v for m in sorted(self.macs) if oui and (v := oui.vendor(m))}
        return {"ip": self.ip, "macs": sorted(self.macs), "role": role.name,
                "role_reasons": list(role.reasons),
                **({"mac_vendors": vendors} if vendors else {}),
                "first_seen": self.first_seen, "last_seen": self.last_seen,
                "client_of": sorted(self.client_of), "server_of": sorted(self.server_of),
                "operations": dict(sorted(self.operations.items())),
                **({"identity": self.identity} if self.identity else {})}


class Inventory:
    """Every host seen. `oui` names the vendor of each MAC address in `to_list` (default:
    the system's IEEE table, read on first use)."""

    def __init__(self, *, oui: OuiTable | None = None) -> None:
        self.hosts: dict[str, Host] = {}
        self._oui = oui

    def saw(self, ip: str, ts_ns: int, mac: str | None = None) -> Host:
        """Record that `ip` was seen at `ts_ns` (with `mac` on its frames, if known)."""
        host = self.hosts.get(ip)
        if host is None:
            host = self.hosts[ip] = Host(ip, ts_ns, ts_ns)
        elif ts_ns > host.last_seen:
            host.last_seen = ts_ns
        elif ts_ns < host.first_seen:
            host.first_seen = ts_ns
        if mac is not None:
            host.macs.add(mac)
        return host

    def observe(self, event: ProtocolEvent) -> None:
        flow = event.flow
        if event.direction == "request":
            client = self.saw(flow.src, event.ts_ns)
            server = self.saw(flow.dst, event.ts_ns)
            client.operations[event.operation] = client.operations.get(event.operation, 0) + 1
            client.servers.add(server.ip)
        else:
            server = self.saw(flow.src, event.ts_ns)
            client = self.saw(flow.dst, event.ts_ns)
        client.client_of.add(event.protocol)
        server.server_of.add(event.protocol)
        identity = event.device_identity()
        if identity:
            server.identity.update(identity)

    @property
    def oui(self) -> OuiTable:
        if self._oui is None:
            self._oui = default_oui_table()
        return self._oui

    def to_list(self) -> list[dict[str, Any]]:
        return [h.to_dict(self.oui) for h in sorted(self.hosts.values(), key=_ip_order)]


def _ip_order(host: Host) -> tuple[int, str]:
    return (1 if ":" in host.ip else 0, ".".join(p.zfill(3) for p in host.ip.split(".")))
