"""The communication map: who talks to whom, in which protocol, with which functions —
counts, bytes, first and last seen — exported as JSON, as a Graphviz DOT graph and as
GraphML (yEd, Gephi, Cytoscape, networkx)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Any

from isthmus.security.events import ProtocolEvent
from isthmus.security.inventory import Inventory

__all__ = ["CommunicationMap", "Link"]


@dataclass(slots=True)
class Link:
    """Traffic of one (client, server, protocol, function)."""

    client: str
    server: str
    protocol: str
    function: str
    first_seen: int
    last_seen: int
    requests: int = 0
    responses: int = 0
    bytes: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"client": self.client, "server": self.server, "protocol": self.protocol,
                "function": self.function, "requests": self.requests,
                "responses": self.responses, "bytes": self.bytes,
                "first_seen": self.first_seen, "last_seen": self.last_seen}


class CommunicationMap:
    def __init__(self) -> None:
        self.links: dict[tuple[str, str, str, str], Link] = {}

    def observe(self, event: ProtocolEvent, function: str) -> None:
        flow = event.flow
        request = event.direction == "request"
        client, server = (flow.src, flow.dst) if request else (flow.dst, flow.src)
        link = self.link(client, server, event.protocol, function, event.ts_ns)
        if request:
            link.requests += 1
        else:
            link.responses += 1
        link.bytes += event.length

    def observe_transport(self, client: str, server: str, transport: str, port: int, *,
                          first_ns: int, last_ns: int, payload_bytes: int) -> None:
        """A connection no dissector recognised: mapped as `transport` / `port N`."""
        link = self.link(client, server, transport, f"port {port}", first_ns)
        link.last_seen = max(link.last_seen, last_ns)
        link.requests += 1
        link.bytes += payload_bytes

    def link(self, client: str, server: str, protocol: str, function: str,
             ts_ns: int) -> Link:
        """The link for (client, server, protocol, function), created or stretched to
        include `ts_ns`."""
        key = (client, server, protocol, function)
        link = self.links.get(key)
        if link is None:
            link = self.links[key] = Link(client, server, protocol, function, ts_ns, ts_ns)
        else:
            link.first_seen = min(link.first_seen, ts_ns)
            link.last_seen = max(link.last_seen, ts_ns)
        return link

    def to_list(self) -> list[dict[str, Any]]:
        return [link.to_dict() for _, link in sorted(self.links.items())]

    def to_dot(self, inventory: Inventory | None = None) -> str:
        """A directed graph client → server, one edge per (client, server, protocol)
        labelled with its functions and request counts."""
        lines = ["digraph communication {", "  rankdir=LR;", "  node [shape=box];"]
        hosts = sorted({h for link in self.links.values() for h in (link.client, link.server)})
        for ip in hosts:
            label = ip
            host = inventory.hosts.get(ip) if inventory else None
            if host is not None:
                label += f"\\n{host.role}"
                vendor = " ".join(filter(None, (host.identity.get("vendor"),
                                                host.identity.get("product_code"))))
                if vendor:
                    label += f"\\n{_escape(vendor)}"
            lines.append(f'  "{ip}" [label="{label}"];')
        edges: dict[tuple[str, str, str], list[str]] = {}
        for (client, server, protocol, function), link in sorted(self.links.items()):
            edges.setdefault((client, server, protocol), []).append(
                f"{function} ×{link.requests or link.responses}")
        for (client, server, protocol), functions in edges.items():
            label = _escape(protocol + ": " + ", ".join(functions))
            lines.append(f'  "{client}" -> "{server}" [label="{label}"];')
        lines.append("}")
        return "\n".join(lines) + "\n"

    def to_graphml(self, inventory: Inventory | None = None) -> str:
        """A directed GraphML graph: one node per host (role, MAC vendor and device
        identity as attributes), one edge per (client, server, protocol) with its functions,
        request, response and byte counts, first and last seen (ns since the epoch)."""
        root = ET.Element("graphml", xmlns=_GRAPHML_NS)
        for key, (domain, kind) in _GRAPHML_KEYS.items():
            ET.SubElement(root, "key", {"id": key, "for": domain, "attr.name": key,
                                        "attr.type": kind})
        graph = ET.SubElement(root, "graph", id="communication", edgedefault="directed")
        hosts = sorted({h for link in self.links.values() for h in (link.client, link.server)})
        for ip in hosts:
            node = ET.SubElement(graph, "node", id=ip)
            _data(node, "ip", ip)
            host = inventory.hosts.get(ip) if inventory else None
            if host is not None:
                _data(node, "role", host.role)
                vendors = {inventory.oui.vendor(m) for m in host.macs} if inventory else set()
                _data(node, "mac_vendor", ", ".join(sorted(v for v in vendors if v)))
                _data(node, "identity", " ".join(host.identity.values()))
        for (client, server, protocol), links in self._edges().items():
            edge = ET.SubElement(graph, "edge", id=f"{client}>{server}/{protocol}",
                                 source=client, target=server)
            _data(edge, "protocol", protocol)
            _data(edge, "functions", ", ".join(link.function for link in links))
            for name in ("requests", "responses", "bytes"):
                _data(edge, name, str(sum(getattr(link, name) for link in links)))
            _data(edge, "first_seen", str(min(link.first_seen for link in links)))
            _data(edge, "last_seen", str(max(link.last_seen for link in links)))
        ET.indent(root)
        return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"

    def _edges(self) -> dict[tuple[str, str, str], list[Link]]:
        edges: dict[tuple[str, str, str], list[Link]] = {}
        for (client, server, protocol, _), link in sorted(self.links.items()):
            edges.setdefault((client, server, protocol), []).append(link)
        return edges


_GRAPHML_NS = "http://graphml.graphdrawing.org/xmlns"
_GRAPHML_KEYS: dict[str, tuple[str, str]] = {
    "ip": ("node", "string"), "role": ("node", "string"), "mac_vendor": ("node", "string"),
    "identity": ("node", "string"), "protocol": ("edge", "string"),
    "functions": ("edge", "string"), "requests": ("edge", "long"),
    "responses": ("edge", "long"), "bytes": ("edge", "long"), "first_seen": ("edge", "long"),
    "last_seen": ("edge", "long"),
}


def _data(element: ET.Element, key: str, value: str) -> None:
    if value:
        ET.SubElement(element, "data", key=key).text = value


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')
