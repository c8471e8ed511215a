"""Noise level: the robust spread of second differences (trend removed) over a window,
against the level learned on the clean period. Well above it is a noise change; well below
it, while the signal still moves, is a frozen noise-free signal (a replaced or simulated
value: real transmitters are never that clean). Bounds a tag crossed on its own while
learning are widened to what it did."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from numpy.lib.stride_tricks import sliding_window_view

from isthmus.integrity.sensors.findings import Finding, FindingKind
from isthmus.integrity.sensors.settings import NoiseSettings
from isthmus.integrity.sensors.tail import Floats, Tail, Times

__all__ = ["NoiseDetector", "noise_levels"]

_D2_TO_SIGMA = 1.4826 / math.sqrt(6.0)   # white noise σ from the MAD of second differences
_KEPT = 4096
_MIN_WINDOWS = 8
Flags = npt.NDArray[np.bool_]


def noise_levels(all_x: Floats, ends: npt.NDArray[np.intp],
                 window: int) -> tuple[Floats, Flags, Floats]:
    """(σ, moving, smallest |x|) of the `window` samples ending at each index of `ends`
    (inclusive): σ from second differences, moving when at least half the steps change
    the value."""
    d1 = np.diff(all_x)
    d2 = np.diff(d1)
    # the second differences of the window ending at sample e are d2[e-window+2 .. e-2]
    views = sliding_window_view(d2, window - 2)[ends - window + 1]
    med = np.median(views, axis=1)
    sigma = _D2_TO_SIGMA * np.median(np.abs(views - med[:, None]), axis=1)
    moving = np.count_nonzero(sliding_window_view(d1, window - 1)[ends - window + 1],
                              axis=1) >= (window - 1) / 2
    smallest = np.abs(sliding_window_view(all_x, window)[ends - window + 1]).min(axis=1)
    return sigma, moving, smallest


class NoiseDetector:
    def __init__(self, tag: str, settings: NoiseSettings) -> None:
        self.tag = tag
        self.settings = settings
        self.stride = max(1, settings.window // 4)
        self._tail = Tail(settings.window)
        self._count = 0
        self._learned: list[float] = []
        self._magnitudes: list[float] = []
        self._typical: float | None = None
        self.sigma: float | None = None     # learned level; None while learning or unjudged
        self.high = settings.high
        self.low: float | None = settings.low
        self._streak = 0
        self._streak_kind: FindingKind | None = None
        self._streak_since = 0
        self._alerted = False

    def _levels(self, ts: Times, x: Floats) -> tuple[Times, Floats, Flags]:
        all_ts, all_x, prior = self._tail.extend(ts, x)
        counts = self._count + np.arange(1, len(x) + 1)
        self._count += len(x)
        ends = prior + np.flatnonzero(counts % self.stride == 0)
        ends = ends[ends >= self.settings.window - 1]
        if not len(ends):
            return np.zeros(0, np.int64), np.zeros(0), np.zeros(0, bool)
        sigma, moving, smallest = noise_levels(all_x, ends, self.settings.window)
        if self._typical is not None:
            # a machine winding down to zero is smooth too: frozen only away from zero
            moving &= smallest >= 0.05 * self._typical
        return all_ts[ends], sigma, moving

    def learn(self, ts: Times, x: Floats) -> None:
        if len(self._magnitudes) < _KEPT and len(x):
            self._magnitudes.extend(np.abs(x[:: max(1, len(x) // 64)]).tolist())
        _, sigma, moving = self._levels(ts, x)
        if len(self._learned) < _KEPT:
            self._learned.extend(sigma[moving].tolist())

    def finish(self) -> None:
        self._typical = float(np.median(self._magnitudes)) if self._magnitudes else 0.0
        levels = np.array(self._learned)
        if len(levels) < _MIN_WINDOWS or float(np.median(levels)) <= 0:
            self.sigma = None
            return
        self.sigma = float(np.median(levels))
        ratios = levels / self.sigma
        self.high = max(self.settings.high, 1.5 * float(ratios.max()))
        self.low = self.settings.low if float(ratios.min()) > self.settings.low else None

    def score(self, ts: Times, x: Floats) -> list[Finding]:
        at, sigma, moving = self._levels(ts, x)
        if self.sigma is None:
            return []
        findings = []
        for t, s, m in zip(at.tolist(), sigma.tolist(), moving.tolist(), strict=True):
            finding = self._judge(int(t), float(s), bool(m))
            if finding is not None:
                findings.append(finding)
        return findings

    def _judge(self, t: int, sigma: float, moving: bool) -> Finding | None:
        assert self.sigma is not None
        ratio = sigma / self.sigma
        kind = None
        if ratio > self.high:
            kind = FindingKind.NOISE
        elif self.low is not None and moving and ratio < self.low:
            kind = FindingKind.FROZEN
        if kind is None or kind != self._streak_kind:
            self._streak, self._streak_kind, self._streak_since = 0, kind, t
            self._alerted = False
        if kind is None:
            return None
        self._streak += 1
        if self._streak < self.settings.persist or self._alerted:
            return None
        self._alerted = True
        what = ("noise level rose" if kind == FindingKind.NOISE
                else "noise vanished while the value still moves")
        return Finding(kind, self.tag, t, self._streak_since,
                       f"{what}: σ {sigma:.4g} against {self.sigma:.4g} learned "
                       f"(ratio {ratio:.2f}) over {self._streak} windows",
                       {"sigma": sigma, "learned_sigma": self.sigma, "ratio": ratio,
                        "high": self.high, "low": self.low, "windows": self._streak,
                        "window_samples": self.settings.window})
