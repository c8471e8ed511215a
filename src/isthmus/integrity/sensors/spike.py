"""Spikes: a sample far from the median of the samples before it (robust z on a rolling
median and MAD), for at most `max_width` samples, after which the signal returns. An
outlier that persists is a step (a pump starting, a machine stopping), not a spike."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from numpy.lib.stride_tricks import sliding_window_view

from isthmus.integrity.sensors.findings import Finding, FindingKind
from isthmus.integrity.sensors.settings import SpikeSettings
from isthmus.integrity.sensors.tail import Floats, Tail, Times

__all__ = ["SpikeDetector", "robust_z"]

_MAD_TO_SIGMA = 1.4826
_SCALES_KEPT = 4096


def robust_z(all_x: Floats, first: int, window: int,
             floor: float) -> tuple[Floats, Floats, Floats]:
    """(z, median, scale) of samples `all_x[first:]`, each against the `window` samples
    before it; samples without a full window get z 0. `floor` bounds the scale below."""
    n = len(all_x) - first
    z, med, scale = np.zeros(n), np.zeros(n), np.zeros(n)
    k0 = max(first, window)
    if len(all_x) <= k0:
        return z, med, scale
    views = sliding_window_view(all_x[:-1], window)[k0 - window:]
    m = np.median(views, axis=1)
    s = np.maximum(_MAD_TO_SIGMA * np.median(np.abs(views - m[:, None]), axis=1), floor)
    with np.errstate(divide="ignore", invalid="ignore"):
        zz = np.where(s > 0, (all_x[k0:] - m) / np.where(s > 0, s, 1.0), 0.0)
    z[k0 - first:], med[k0 - first:], scale[k0 - first:] = zz, m, s
    return z, med, scale


@dataclass(slots=True)
class _Run:
    since: int
    width: int
    peak_z: float
    peak_value: float
    median: float


class SpikeDetector:
    def __init__(self, tag: str, settings: SpikeSettings) -> None:
        self.tag = tag
        self.settings = settings
        self._tail = Tail(settings.window)
        self._pending: _Run | None = None
        self._scales: list[float] = []
        self._learned_z = 0.0
        self._resolution = float("inf")
        self._rises = self._falls = False
        self.floor = 0.0
        self.threshold: float | None = None  # None while learning, or not judged
        #: start times of the latest outlying runs, spikes and steps alike (for the engine
        #: to tell a process transient that several signals share from a sensor spike)
        self.outliers: deque[int] = deque(maxlen=64)

    def _learned_floor(self) -> float:
        typical = float(np.median(self._scales)) if self._scales else 0.0
        return max(typical, self._resolution if np.isfinite(self._resolution) else 0.0)

    def learn(self, ts: Times, x: Floats) -> None:
        _, all_x, prior = self._tail.extend(ts, x)
        steps = np.diff(all_x)
        if len(steps):
            moved = np.abs(steps[steps != 0])
            if len(moved):
                self._resolution = min(self._resolution, float(moved.min()))
            self._rises |= bool(np.any(steps > 0))
            self._falls |= bool(np.any(steps < 0))
        # z against the floor learned so far, so that learning and judging agree
        z, med, scale = robust_z(all_x, prior, self.settings.window, self._learned_floor())
        positive = scale[scale > 0]
        if len(positive) and len(self._scales) < _SCALES_KEPT:
            step = max(1, len(positive) // 64)
            self._scales.extend(positive[::step].tolist())
        for run, _ in self._spikes(ts, x, z, med, np.abs(z) > self.settings.z):
            self._learned_z = max(self._learned_z, abs(run.peak_z))

    def finish(self) -> None:
        """Freeze the floor (typical spread, at least the resolution) and the threshold
        (at least 1.5 × the largest spike seen on the clean period). Counters and totals
        (never falling while learning) are not judged: their steps are their function."""
        self.floor = self._learned_floor()
        monotonic = self._rises and not self._falls
        self.threshold = None if monotonic else max(self.settings.z, 1.5 * self._learned_z)
        self._pending = None

    def score(self, ts: Times, x: Floats) -> list[Finding]:
        if self.threshold is None:
            return []
        _, all_x, prior = self._tail.extend(ts, x)
        z, med, _ = robust_z(all_x, prior, self.settings.window, self.floor)
        flags = np.abs(z) > self.threshold
        starts = np.flatnonzero(flags & ~np.concatenate([[False], flags[:-1]]))
        self.outliers.extend(ts[starts].tolist())
        findings = []
        for run, back_ts in self._spikes(ts, x, z, med, flags):
            findings.append(Finding(
                FindingKind.SPIKE, self.tag, back_ts, run.since,
                f"spike to {run.peak_value:g} (robust z {run.peak_z:.1f} against median "
                f"{run.median:g}) for {run.width} sample(s), then back",
                {"peak": run.peak_value, "z": run.peak_z, "median": run.median,
                 "width_samples": run.width, "threshold_z": self.threshold,
                 "scale_floor": self.floor}))
        return findings

    def _spikes(self, ts: Times, x: Floats, z: Floats, med: Floats,
                flags: npt.NDArray[np.bool_]) -> list[tuple[_Run, int]]:
        """Runs of flagged samples that ended (the signal came back) within `max_width`;
        a run reaching the end of the batch waits for the next one."""
        out: list[tuple[_Run, int]] = []
        edges = np.diff(np.concatenate([[0], flags.astype(np.int8), [0]]))
        starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
        if self._pending is not None and (not len(starts) or starts[0] != 0):
            if self._pending.width <= self.settings.max_width and len(ts):
                out.append((self._pending, int(ts[0])))
            self._pending = None
        for a, b in zip(starts.tolist(), ends.tolist(), strict=True):
            peak = a + int(np.argmax(np.abs(z[a:b])))
            run = _Run(int(ts[a]), b - a, float(z[peak]), float(x[peak]), float(med[peak]))
            if a == 0 and self._pending is not None:
                prev = self._pending
                bigger = abs(prev.peak_z) >= abs(run.peak_z)
                run = _Run(prev.since, prev.width + run.width,
                           prev.peak_z if bigger else run.peak_z,
                           prev.peak_value if bigger else run.peak_value,
                           prev.median if bigger else run.median)
                self._pending = None
            if b == len(flags):
                self._pending = run
            elif run.width <= self.settings.max_width:
                out.append((run, int(ts[b])))
        return out
