"""The learned baseline: per link (client, server, protocol) the functions used, address
ranges read and written per unit id, value ranges of writes per address, polling periods
per (function, unit, address), first/last seen; and the hosts and protocols per zone.

Saved as human-readable, versioned JSON (`schema: isthmus.baseline/1`)."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from isthmus.security.detect.errors import BaselineError

__all__ = ["SCHEMA", "Baseline", "LinkBaseline", "Poll"]

SCHEMA = "isthmus.baseline/1"


def _iso(ts_ns: int) -> str:
    sec, ns = divmod(ts_ns, 1_000_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(sec)) + f".{ns // 1000:06d}Z"


@dataclass(slots=True)
class Poll:
    """A periodic request: median inter-arrival and its median absolute deviation."""

    function: str
    unit_id: int
    address: int
    period_s: float
    mad_s: float
    samples: int

    def to_dict(self) -> dict[str, Any]:
        return {"function": self.function, "unit_id": self.unit_id, "address": self.address,
                "period_s": round(self.period_s, 6), "mad_s": round(self.mad_s, 6),
                "samples": self.samples}


@dataclass(slots=True)
class LinkBaseline:
    client: str
    server: str
    protocol: str
    first_seen_ns: int
    last_seen_ns: int
    functions: set[str] = field(default_factory=set)          # "operation/function"
    reads: dict[int, list[list[int]]] = field(default_factory=dict)     # unit → ranges
    writes: dict[int, list[list[int]]] = field(default_factory=dict)
    write_values: dict[tuple[int, int], tuple[float, float]] = field(default_factory=dict)
    polls: list[Poll] = field(default_factory=list)
    requests: int = 0
    wrote: bool = False                 # the client wrote or operated on this server
    unsolicited_per_s: float = 0.0

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.client, self.server, self.protocol)

    def to_dict(self) -> dict[str, Any]:
        return {
            "client": self.client, "server": self.server, "protocol": self.protocol,
            "first_seen": _iso(self.first_seen_ns), "last_seen": _iso(self.last_seen_ns),
            "first_seen_ns": self.first_seen_ns, "last_seen_ns": self.last_seen_ns,
            "requests": self.requests, "wrote": self.wrote,
            "functions": sorted(self.functions),
            "reads": {str(u): r for u, r in sorted(self.reads.items())},
            "writes": {str(u): r for u, r in sorted(self.writes.items())},
            "write_values": [{"unit_id": u, "address": a, "min": lo, "max": hi}
                             for (u, a), (lo, hi) in sorted(self.write_values.items())],
            "polls": [p.to_dict() for p in self.polls],
            "unsolicited_per_s": round(self.unsolicited_per_s, 6),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LinkBaseline:
        return cls(
            str(data["client"]), str(data["server"]), str(data["protocol"]),
            int(data["first_seen_ns"]), int(data["last_seen_ns"]),
            set(map(str, data.get("functions", []))),
            {int(u): [[int(a), int(b)] for a, b in r] for u, r in data.get("reads", {}).items()},
            {int(u): [[int(a), int(b)] for a, b in r]
             for u, r in data.get("writes", {}).items()},
            {(int(v["unit_id"]), int(v["address"])): (float(v["min"]), float(v["max"]))
             for v in data.get("write_values", [])},
            [Poll(str(p["function"]), int(p["unit_id"]), int(p["address"]),
                  float(p["period_s"]), float(p["mad_s"]), int(p["samples"]))
             for p in data.get("polls", [])],
            int(data.get("requests", 0)), bool(data.get("wrote", False)),
            float(data.get("unsolicited_per_s", 0.0)))


@dataclass(slots=True)
class Baseline:
    links: dict[tuple[str, str, str], LinkBaseline] = field(default_factory=dict)
    zones: dict[str, dict[str, set[str]]] = field(default_factory=dict)  # zone → hosts/protocols
    first_ts_ns: int = 0
    last_ts_ns: int = 0
    events: int = 0
    networks: dict[str, list[str]] = field(default_factory=dict)     # the zones' networks

    def zone_hosts(self, zone: str) -> set[str]:
        return self.zones.get(zone, {}).get("hosts", set())

    def zone_protocols(self, zone: str) -> set[str]:
        return self.zones.get(zone, {}).get("protocols", set())

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "learned": {"from": _iso(self.first_ts_ns), "to": _iso(self.last_ts_ns),
                        "first_ts_ns": self.first_ts_ns, "last_ts_ns": self.last_ts_ns,
                        "events": self.events},
            "networks": self.networks,
            "zones": {z: {k: sorted(v) for k, v in sorted(parts.items())}
                      for z, parts in sorted(self.zones.items())},
            "links": [link.to_dict() for _, link in sorted(self.links.items())],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, where: str = "baseline") -> Baseline:
        if data.get("schema") != SCHEMA:
            raise BaselineError(f"{where}: schema {data.get('schema')!r} is not {SCHEMA!r}; "
                                f"learn a new baseline with --learn")
        try:
            links = [LinkBaseline.from_dict(item) for item in data.get("links", [])]
            learned = data.get("learned", {})
            return cls({link.key: link for link in links},
                       {str(z): {str(k): set(map(str, v)) for k, v in parts.items()}
                        for z, parts in data.get("zones", {}).items()},
                       int(learned.get("first_ts_ns", 0)), int(learned.get("last_ts_ns", 0)),
                       int(learned.get("events", 0)),
                       {str(k): list(map(str, v)) for k, v in data.get("networks", {}).items()})
        except (KeyError, TypeError, ValueError) as exc:
            raise BaselineError(f"{where}: malformed baseline ({type(exc).__name__}: {exc})") \
                from exc

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(self.to_dict(), indent=2) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> Baseline:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise BaselineError(f"{path}: cannot read the baseline: {exc}") from exc
        if not isinstance(data, dict):
            raise BaselineError(f"{path}: a baseline is a JSON object, not "
                                f"{type(data).__name__}")
        return cls.from_dict(data, where=str(path))
