"""Replay of recorded data (the Stuxnet pattern): a window of `length` samples identical to
a window seen earlier on the same tag. Real measurements carry noise, so an exact repeat of
a rich window does not happen by chance; windows without that richness (constant values,
clean ramps, counters stepping by one amount) are never fingerprinted.

Fingerprints are a linear hash of the window's float64 bit patterns (vectorised); one is
kept every `stride` samples for the last `history` of them, so a replay of at least
`length + stride` samples always contains a stored window, also when it loops.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from numpy.lib.stride_tricks import sliding_window_view

from isthmus.integrity.sensors.findings import Finding, FindingKind
from isthmus.integrity.sensors.settings import ReplaySettings
from isthmus.integrity.sensors.tail import Floats, Tail, Times

__all__ = ["ReplayDetector", "window_fingerprints"]

Keys = npt.NDArray[np.uint64]
_NOISE_KEPT = 4096
_MULTIPLIERS = np.random.default_rng(0x5EED).integers(1, 2**63, 512, dtype=np.uint64) | 1


def _mix(bits: Keys) -> Keys:
    """A 64-bit finaliser (xor-shift-multiply), so that values whose low bits are all zero
    (small integers as float64) still spread over every bit before they are summed."""
    z = bits ^ (bits >> np.uint64(30))
    z = z * np.uint64(0xBF58476D1CE4E5B9)
    z = z ^ (z >> np.uint64(27))
    z = z * np.uint64(0x94D049BB133111EB)
    mixed: Keys = z ^ (z >> np.uint64(31))
    return mixed


def window_fingerprints(all_x: Floats,
                        length: int) -> tuple[Keys, npt.NDArray[np.bool_], Floats]:
    """(fingerprint, rich, noise) of every window of `length` consecutive samples of
    `all_x`: rich when at least a quarter of its steps differ from one another, noise the
    MAD of its second differences (a smooth ramp or decay has next to none)."""
    bits = _mix(np.ascontiguousarray(all_x).view(np.uint64))
    views = sliding_window_view(bits, length)
    keys = (views * _MULTIPLIERS[:length]).sum(axis=1, dtype=np.uint64)
    # rounded so that float error on quantised values does not pass for richness
    steps = np.sort(np.round(np.diff(sliding_window_view(all_x, length), axis=1), 9), axis=1)
    distinct = 1 + np.count_nonzero(np.diff(steps, axis=1), axis=1)
    d2 = sliding_window_view(np.diff(all_x, 2), length - 2)
    noise = np.median(np.abs(d2 - np.median(d2, axis=1)[:, None]), axis=1)
    return keys, distinct >= max(3, (length - 1) // 4), noise


class ReplayDetector:
    def __init__(self, tag: str, settings: ReplaySettings) -> None:
        self.tag = tag
        self.settings = settings
        self._tail = Tail(settings.length - 1)
        self._keys: Keys = np.zeros(settings.history, np.uint64)
        self._key_ts = np.zeros(settings.history, np.int64)
        self._stored = 0        # fingerprints stored so far (ring position = stored % history)
        self._count = 0         # windows seen so far
        self._alerted_until = -1
        self._rich = 0
        self._natural = 0       # exact repeats while learning: this tag repeats by nature
        self._noise: list[float] = []
        self.noise = 0.0        # typical noise of a window (MAD of second differences)
        self.judging = False

    def learn(self, ts: Times, x: Floats) -> None:
        self._natural += len(self._windows(ts, x, learning=True))

    def finish(self) -> None:
        """Judge only a tag that is noisy most of the time and never repeated itself while
        learning (deterministic ramps, such as a pump start without noise, repeat)."""
        self.judging = self._natural == 0 and self._rich >= self._count / 2 > 0
        self.noise = float(np.median(self._noise)) if self._noise else 0.0
        self.judging = self.judging and self.noise > 0

    def score(self, ts: Times, x: Floats) -> list[Finding]:
        findings = self._windows(ts, x, learning=False)
        return findings if self.judging else []

    def _windows(self, ts: Times, x: Floats, *, learning: bool) -> list[Finding]:
        all_ts, all_x, _ = self._tail.extend(ts, x)
        length = self.settings.length
        if len(all_x) < length:
            return []
        keys, rich, noise = window_fingerprints(all_x, length)
        if learning and len(self._noise) < _NOISE_KEPT:
            self._noise.extend(noise[rich][:: 16].tolist())
        elif not learning:
            rich &= noise >= 0.5 * self.noise   # only windows as noisy as the tag normally is
        starts = all_ts[: len(keys)]
        ends = all_ts[length - 1:]
        findings = self._match(keys, rich, starts, ends)
        if learning:
            self._rich += int(np.count_nonzero(rich))
        index = self._count + np.arange(len(keys))
        self._count += len(keys)
        keep = rich & (index % self.settings.stride == 0)
        self._store(keys[keep], starts[keep])
        return findings

    def _match(self, keys: Keys, rich: npt.NDArray[np.bool_], starts: Times,
               ends: Times) -> list[Finding]:
        held = min(self._stored, self.settings.history)
        if not held:
            return []
        known = self._keys[:held]
        hits = np.flatnonzero(rich & np.isin(keys, known))
        findings = []
        for i in hits.tolist():                 # one finding per 20 windows of a replay
            if ends[i] <= self._alerted_until:
                continue
            self._alerted_until = int(ends[i]) + int(ends[i] - starts[i]) * 20
            findings.append(self._finding(keys[i], int(starts[i]), int(ends[i]),
                                          int(self._key_ts[:held][known == keys[i]].min())))
        return findings

    def _finding(self, key: np.uint64, start: int, end: int, earlier: int) -> Finding:
        lag_s = (start - earlier) / 1e9
        return Finding(FindingKind.REPLAY, self.tag, end, start,
                       f"the {self.settings.length} samples from {lag_s:.0f} s ago repeat "
                       f"exactly: replayed data",
                       {"window_samples": self.settings.length, "window_start": start,
                        "window_end": end, "earlier_start": earlier, "lag_s": lag_s,
                        "fingerprint": f"{int(key):016x}"})

    def _store(self, keys: Keys, starts: Times) -> None:
        history = self.settings.history
        keys, starts = keys[-history:], starts[-history:]
        slots = (self._stored + np.arange(len(keys))) % history
        self._keys[slots], self._key_ts[slots] = keys, starts
        self._stored += len(keys)
