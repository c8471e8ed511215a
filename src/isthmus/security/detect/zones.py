"""Network zones: which addresses are OT (control network) and which are IT.

With neither `ot_nets` nor `it_nets`, every private (RFC 1918) and loopback address is OT
and everything else IT. `ot_nets` lists the OT networks (everything else is IT); `it_nets`
alone lists the IT networks (everything else is OT). Given both, an address in neither is
IT, and one in both takes the zone of the longer prefix."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

__all__ = ["DEFAULT_OT_NETS", "Zones"]

DEFAULT_OT_NETS = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "127.0.0.0/8")
EVERYTHING = ("0.0.0.0/0", "::/0")
_Net = ipaddress.IPv4Network | ipaddress.IPv6Network


def _parse(cidrs: Iterable[str], what: str) -> list[_Net]:
    nets = []
    for cidr in cidrs:
        try:
            nets.append(ipaddress.ip_network(cidr, strict=False))
        except ValueError as exc:
            raise ValueError(f"{what} {cidr!r} is not a network (CIDR such as "
                             f"10.1.0.0/16): {exc}") from None
    return nets


class Zones:
    def __init__(self, *, ot_nets: Iterable[str] = (), it_nets: Iterable[str] = ()) -> None:
        ot, it = list(ot_nets), list(it_nets)
        self.ot_nets = _parse(ot or (EVERYTHING if it else DEFAULT_OT_NETS), "--ot-net")
        self.it_nets = _parse(it, "--it-net")
        self._cache: dict[str, str] = {}

    def zone(self, ip: str) -> str:
        """'ot' or 'it'."""
        found = self._cache.get(ip)
        if found is None:
            found = self._classify(ip)
            if len(self._cache) >= 65536:
                self._cache.clear()
            self._cache[ip] = found
        return found

    def _classify(self, ip: str) -> str:
        try:
            address = ipaddress.ip_address(ip)
        except ValueError:
            return "it"
        ot = max((n.prefixlen for n in self.ot_nets if address in n), default=-1)
        it = max((n.prefixlen for n in self.it_nets if address in n), default=-1)
        return "ot" if ot > it else "it"

    def describe(self) -> dict[str, list[str]]:
        return {"ot": [str(n) for n in self.ot_nets], "it": [str(n) for n in self.it_nets]}
