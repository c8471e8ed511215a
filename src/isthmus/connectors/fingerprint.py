"""Device configuration fingerprints, protocol-neutral: what identifies a device's
configuration as named text fields (and an optional program checksum), their SHA-256, and
the baseline / change integrity events every connector's configuration watch raises.

History is kept as events only: the first reading of a run is a baseline event and every
change an integrity event holding the old and new values and both fingerprints, so the
historian's event log is the history (docs/integrity.md, "Device configuration integrity").
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from isthmus.model import Event, EventKind, Severity

__all__ = ["ConfigJudge", "DeviceFingerprint", "stored_fingerprints"]

#: the changed field names → the MITRE ATT&CK for ICS techniques a change suggests
Techniques = Callable[[Mapping[str, list[object]]], tuple[str, ...]]


@dataclass(frozen=True, slots=True)
class DeviceFingerprint:
    objects: Mapping[str, str] = field(default_factory=dict)
    checksum: int | None = None

    @property
    def digest(self) -> str:
        text = json.dumps({"objects": dict(self.objects), "checksum": self.checksum},
                          sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()

    def changes(self, before: DeviceFingerprint) -> dict[str, list[object]]:
        """field → [before, now] for every field that differs."""
        out: dict[str, list[object]] = {
            name: [before.objects.get(name), self.objects.get(name)]
            for name in sorted(set(self.objects) | set(before.objects))
            if before.objects.get(name) != self.objects.get(name)}
        if before.checksum != self.checksum:
            out["checksum"] = [before.checksum, self.checksum]
        return out

    def as_data(self) -> dict[str, object]:
        return {"objects": dict(self.objects), "checksum": self.checksum,
                "fingerprint": self.digest}


def stored_fingerprints(events: Iterable[Event]) -> dict[str, DeviceFingerprint]:
    """The latest fingerprint of each device among stored baseline and change events, so
    that a change made while the gateway was stopped is still found at the next start."""
    latest: dict[str, tuple[int, DeviceFingerprint]] = {}
    for event in events:
        data = event.data
        if data.get("integrity.kind") not in ("config_baseline", "config_change"):
            continue
        device = str(data.get("device", ""))
        checksum = data.get("checksum")
        fingerprint = DeviceFingerprint(
            {str(k): str(v) for k, v in dict(data.get("objects") or {}).items()},
            None if checksum is None else int(checksum))
        if device and (device not in latest or event.ts >= latest[device][0]):
            latest[device] = (event.ts, fingerprint)
    return {device: fp for device, (_, fp) in latest.items()}


def _no_techniques(changed: Mapping[str, list[object]]) -> tuple[str, ...]:
    return ()


class ConfigJudge:
    """Compares each new reading of one device's fingerprint with the previous one (at
    start: the last stored one) and says which integrity event, if any, that makes."""

    def __init__(self, device: str, asset: str, source: str, *,
                 baseline: DeviceFingerprint | None = None,
                 techniques: Techniques = _no_techniques) -> None:
        self.device = device
        self.asset = asset
        self.source = source
        self.baseline = baseline            # the last stored one, if any
        self._restored = baseline is not None
        self._techniques = techniques
        self.history: list[DeviceFingerprint] = []

    def judge(self, now: DeviceFingerprint, ts: int) -> Event | None:
        """The baseline event for the first reading, an integrity event for a change."""
        before, self.baseline = self.baseline, now
        restored, self._restored = self._restored, False
        if before is not None and before.digest == now.digest:
            return None
        self.history.append(now)
        name = self.device
        if before is None:
            return Event(ts, EventKind.INTEGRITY, Severity.INFO,
                         f"device {name}: configuration baseline {now.digest[:16]}",
                         source=self.source, asset=self.asset,
                         data={"integrity.kind": "config_baseline", "device": name,
                               **now.as_data()})
        changed = now.changes(before)
        listed = ", ".join(f"{k} {v[0]!r} → {v[1]!r}" for k, v in changed.items())
        if restored:
            listed += " (since the gateway's previous run)"
        return Event(ts, EventKind.INTEGRITY, Severity.HIGH,
                     f"device {name}: configuration changed: {listed}",
                     source=self.source, asset=self.asset,
                     attack_techniques=self._techniques(changed),
                     data={"integrity.kind": "config_change", "device": name,
                           "changed": changed, "previous_fingerprint": before.digest,
                           **now.as_data()})
