"""What a sensor-integrity detector reports: a finding (kind, tag, onset, evidence), and the
integrity Event it becomes."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from isthmus.model import Event, EventKind, Severity

__all__ = ["SOURCE", "Finding", "FindingKind"]

#: the `source` of every event the sensor-integrity engine raises
SOURCE = "integrity.sensors"


class FindingKind(enum.StrEnum):
    """What is wrong with a sensor (or a device's configuration)."""

    STUCK = "stuck"                  # value unchanged far longer than it ever was
    FROZEN = "frozen"                # still moving, but its normal noise has vanished
    SPIKE = "spike"                  # a short outlier that returns
    NOISE = "noise"                  # noise level well above the learned one
    DRIFT = "drift"                  # a relationship's residual creeps away (CUSUM)
    REPLAY = "replay"                # a window repeats an earlier one exactly
    INCONSISTENT = "inconsistent"    # a declared relationship broken for long enough
    CONFIG_CHANGE = "config_change"  # a device's identity or program checksum changed


_SEVERITY = {FindingKind.SPIKE: Severity.LOW, FindingKind.NOISE: Severity.MEDIUM,
             FindingKind.STUCK: Severity.MEDIUM, FindingKind.FROZEN: Severity.HIGH,
             FindingKind.DRIFT: Severity.MEDIUM, FindingKind.INCONSISTENT: Severity.HIGH,
             FindingKind.REPLAY: Severity.CRITICAL, FindingKind.CONFIG_CHANGE: Severity.HIGH}

#: MITRE ATT&CK for ICS techniques a finding may be evidence of
_TECHNIQUES = {FindingKind.REPLAY: ("T0856",),          # Spoof Reporting Message
               FindingKind.FROZEN: ("T0856",),
               FindingKind.CONFIG_CHANGE: ("T0839", "T0843")}  # Module Firmware, Program Download


@dataclass(frozen=True, slots=True)
class Finding:
    """One detection. `ts` is when it was detected (the sample that decided it), `since`
    when the anomaly began as far as the detector can tell; `evidence` holds numbers."""

    kind: FindingKind
    tag: str
    ts: int
    since: int
    message: str
    evidence: Mapping[str, Any] = field(default_factory=dict)
    asset: str | None = None

    def event(self) -> Event:
        data = {"integrity.kind": self.kind.value, "since": self.since, **self.evidence}
        asset = self.asset if self.asset is not None else self.tag.rsplit("/", 1)[0]
        return Event(self.ts, EventKind.INTEGRITY, _SEVERITY[self.kind],
                     f"{self.tag}: {self.message}", source=SOURCE, asset=asset, tag=self.tag,
                     attack_techniques=_TECHNIQUES.get(self.kind, ()), data=data)
