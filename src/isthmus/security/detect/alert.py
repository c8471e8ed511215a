"""The `Alert` event: a detection rule fired, with its ATT&CK techniques and evidence."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from isthmus.model import Severity
from isthmus.security.detect.attack import ATTACK_VERSION, Technique
from isthmus.security.events import FlowKey

__all__ = ["Alert"]


@dataclass(slots=True)
class Alert:
    """One firing of rule `rule_id` about the link client → server in `protocol`.

    `evidence` lists the summaries of the protocol events that triggered it (the last
    few), `count` how many events the condition counted, `detail` the rest (deviation
    kind, learned range, block count …)."""

    ts_ns: int
    rule_id: str
    rule_name: str
    severity: Severity
    message: str
    techniques: tuple[Technique, ...]
    client: str
    server: str
    protocol: str
    flow: FlowKey | None = None
    evidence: list[str] = field(default_factory=list)
    count: int = 1
    detail: dict[str, Any] = field(default_factory=dict)
    attack_version: str = ATTACK_VERSION

    def summary(self) -> str:
        ids = ",".join(i for t in self.techniques for i in t.ids)
        return f"[{self.severity.name.lower()}] {self.rule_id} {self.message} ({ids})"
