"""Protocol dissectors: pure parsers over reassembled streams, one package per protocol."""

from __future__ import annotations

from isthmus.security.dissectors.base import Dissector, DissectorSession, Match, Output
from isthmus.security.dissectors.registry import DISSECTORS, by_name, by_port

__all__ = ["DISSECTORS", "Dissector", "DissectorSession", "Match", "Output", "by_name",
           "by_port"]
