"""Shared test data: the RFC 6962 test tree and the published vector files."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

VECTORS = Path(__file__).parent / "vectors"

#: The 8 leaves of the RFC 6962 test tree behind the transparency-dev/merkle happy paths.
RFC6962_LEAVES = [
    b"",
    b"\x00",
    b"\x10",
    b"\x20\x21",
    b"\x30\x31",
    b"\x40\x41\x42\x43",
    bytes(range(0x50, 0x58)),
    bytes(range(0x60, 0x70)),
]


def b64(text: str) -> bytes:
    return base64.b64decode(text)


def load_probes(kind: str) -> list[tuple[str, dict[str, Any]]]:
    """(relative path, probe) for every JSON file under vectors/<kind>/, sorted."""
    folder = VECTORS / kind
    return [
        (str(path.relative_to(VECTORS)), json.loads(path.read_text()))
        for path in sorted(folder.rglob("*.json"))
    ]


def load_notes() -> dict[str, dict[str, Any]]:
    data: dict[str, dict[str, Any]] = json.loads((VECTORS / "notes.json").read_text())
    return data
