"""The dissectors the monitor knows. A new protocol is one line in `DISSECTORS`."""

from __future__ import annotations

from isthmus.security.dissectors.base import Dissector
from isthmus.security.dissectors.modbus import ModbusDissector

__all__ = ["DISSECTORS", "by_name", "by_port"]

DISSECTORS: tuple[Dissector, ...] = (
    ModbusDissector(),
)


def by_name(name: str) -> Dissector:
    for dissector in DISSECTORS:
        if dissector.name == name:
            return dissector
    raise KeyError(f"no dissector named {name!r}; known: "
                   f"{', '.join(d.name for d in DISSECTORS)}")


def by_port(port: int) -> Dissector | None:
    """The dissector whose well-known TCP port this is, if any."""
    for dissector in DISSECTORS:
        if port in dissector.tcp_ports:
            return dissector
    return None
