"""MAC address → vendor, from the IEEE registry as Debian's `ieee-data` package ships it
(/usr/share/ieee-data/{oui,mam,oui36}.csv: MA-L 24-bit, MA-M 28-bit, MA-S 36-bit
prefixes). The longest matching prefix wins. Nothing of the table lives in this repository."""

from __future__ import annotations

import csv
import functools
from collections.abc import Iterable
from pathlib import Path

__all__ = ["IEEE_DATA", "OuiTable", "default_oui_table", "normalise_mac"]

IEEE_DATA = Path("/usr/share/ieee-data")
_FILES = ("oui.csv", "mam.csv", "oui36.csv")


def normalise_mac(mac: str) -> str | None:
    """Twelve upper-case hex digits, or None when `mac` is not a 48-bit address."""
    digits = "".join(ch for ch in mac if ch not in ":-. ").upper()
    if len(digits) != 12 or any(ch not in "0123456789ABCDEF" for ch in digits):
        return None
    return digits


class OuiTable:
    """Assignments keyed by their hex prefix (6, 7 or 9 digits)."""

    def __init__(self, assignments: dict[str, str]) -> None:
        self._by_prefix = assignments
        self._lengths = sorted({len(p) for p in assignments}, reverse=True)

    @classmethod
    def from_csv(cls, paths: Iterable[Path]) -> OuiTable:
        """Read IEEE registry CSV files (`Registry,Assignment,Organization Name,…`);
        files that do not exist are skipped."""
        table: dict[str, str] = {}
        for path in paths:
            if not path.is_file():
                continue
            with path.open(encoding="utf-8", errors="replace", newline="") as stream:
                for row in csv.DictReader(stream):
                    prefix = (row.get("Assignment") or "").strip().upper()
                    name = (row.get("Organization Name") or "").strip()
                    if prefix and name:
                        table[prefix] = name
        return cls(table)

    def __len__(self) -> int:
        return len(self._by_prefix)

    def vendor(self, mac: str) -> str | None:
        """The organisation the address block of `mac` is registered to. None for an
        unknown block, a malformed address, the all-zero address (loopback frames), and
        locally administered or multicast addresses, which no vendor owns."""
        digits = normalise_mac(mac)
        if digits is None or digits == "000000000000":
            return None
        if int(digits[:2], 16) & 0x03:          # multicast or locally administered bit
            return None
        for length in self._lengths:
            name = self._by_prefix.get(digits[:length])
            if name is not None:
                return name
        return None


@functools.cache
def default_oui_table() -> OuiTable:
    """The system's IEEE table (empty when Debian's ieee-data is not installed)."""
    return OuiTable.from_csv(IEEE_DATA / name for name in _FILES)
