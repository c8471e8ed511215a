"""MITRE ATT&CK for ICS: the technique names our rules use and the v19 renumbering.

ATT&CK for ICS v19 moved some techniques under new sub-technique ids. An alert carries
the classic id and, where the technique was renumbered, the v19 id as well.

Renumbering sources (checked November 2026):
- the Isthmus issue 3 brief (T0855 → T1692.001, T0856 → T1692.002);
- MITRE ATT&CK technique pages as mirrored at security.glexia.com/learn/attack/techniques/
  T1692-unauthorized-message, T1692.001-command-message, T1692.002-reporting-message
  (T1692 "Unauthorized Message", sub-techniques "Command Message" and "Reporting
  Message"), and T0856-spoof-reporting-message (marked revoked/deprecated there).
Only these two are listed: v19 also has T1691 "Block Operational Technology Message", but
which sub-technique replaces T0803/T0804 could not be confirmed, so they keep their ids.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ATTACK_VERSION", "FRAMEWORK", "RENUMBERED_V19", "TECHNIQUES", "Technique",
           "technique"]

FRAMEWORK = "MITRE ATT&CK for ICS"
ATTACK_VERSION = "19"

#: classic technique id → name (ATT&CK for ICS up to v18)
TECHNIQUES: dict[str, str] = {
    "T0804": "Block Reporting Message",
    "T0806": "Brute Force I/O",
    "T0814": "Denial of Service",
    "T0816": "Device Restart/Shutdown",
    "T0831": "Manipulation of Control",
    "T0836": "Modify Parameter",
    "T0843": "Program Download",
    "T0845": "Program Upload",
    "T0846": "Remote System Discovery",
    "T0848": "Rogue Master",
    "T0855": "Unauthorized Command Message",
    "T0856": "Spoof Reporting Message",
    "T0858": "Change Operating Mode",
    "T0861": "Point & Tag Identification",
    "T0869": "Standard Application Layer Protocol",
    "T0886": "Remote Services",
    "T0888": "Remote System Information Discovery",
}

#: classic id → (v19 id, v19 name); see the module docstring for the sources.
RENUMBERED_V19: dict[str, tuple[str, str]] = {
    "T0855": ("T1692.001", "Unauthorized Message: Command Message"),
    "T0856": ("T1692.002", "Unauthorized Message: Reporting Message"),
}


@dataclass(frozen=True, slots=True)
class Technique:
    id: str
    name: str
    v19_id: str | None = None
    v19_name: str | None = None

    @property
    def ids(self) -> list[str]:
        return [self.id] if self.v19_id is None else [self.id, self.v19_id]

    @property
    def names(self) -> list[str]:
        return [self.name] if self.v19_name is None else [self.name, self.v19_name]

    def to_dict(self) -> dict[str, str]:
        out = {"id": self.id, "name": self.name}
        if self.v19_id is not None and self.v19_name is not None:
            out |= {"v19_id": self.v19_id, "v19_name": self.v19_name}
        return out


def technique(technique_id: str, name: str | None = None) -> Technique:
    """The technique `technique_id` (a classic T08xx id), named from our table unless
    `name` is given; a renumbered one carries its v19 id too."""
    known = TECHNIQUES.get(technique_id)
    if name is None:
        if known is None:
            raise KeyError(f"unknown ATT&CK for ICS technique {technique_id!r}: give its "
                           f"name in the rule (known: {', '.join(sorted(TECHNIQUES))})")
        name = known
    v19 = RENUMBERED_V19.get(technique_id)
    return Technique(technique_id, name, *(v19 if v19 else (None, None)))
