"""Stuck sensors: a value that stays exactly the same far longer than it ever did while the
baseline was learned (and at least `min_samples` expected samples).

A run at exactly zero never counts (a stopped machine reads zero), and a tag that hardly
changed while learning (a setpoint) is not judged at all.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from isthmus.integrity.sensors.findings import Finding, FindingKind
from isthmus.integrity.sensors.settings import StuckSettings
from isthmus.integrity.sensors.tail import Floats, Times

__all__ = ["StuckDetector"]

_MIN_CHANGES = 20       # changes seen while learning before a tag is judged
_DT_SAMPLES = 512       # sample intervals kept to estimate the expected interval
Flags = npt.NDArray[np.bool_]


class StuckDetector:
    def __init__(self, tag: str, settings: StuckSettings) -> None:
        self.tag = tag
        self.settings = settings
        self._last: float | None = None
        self._run_start = 0
        self._run_len = 0
        self._alerted = False
        self._longest_s = 0.0
        self._changes = 0
        self._dts: list[int] = []
        self.threshold_ns: int | None = None  # None while learning, or when not judged

    def _runs(self, ts: Times, x: Floats) -> tuple[Flags, Times, Times]:
        n = len(x)
        changed = np.empty(n, bool)
        changed[0] = self._last is None or x[0] != self._last
        changed[1:] = x[1:] != x[:-1]
        index = np.arange(n)
        last_change = np.maximum.accumulate(np.where(changed, index, -1))
        fresh = last_change >= 0
        start = np.where(fresh, ts[np.maximum(last_change, 0)], self._run_start)
        length = np.where(fresh, index - last_change + 1, self._run_len + index + 1)
        self._last, self._run_start, self._run_len = float(x[-1]), int(start[-1]), int(length[-1])
        self._changes += int(np.count_nonzero(changed))
        return changed, start.astype(np.int64), length

    def learn(self, ts: Times, x: Floats) -> None:
        if not len(x):
            return
        if len(self._dts) < _DT_SAMPLES and len(ts) > 1:
            self._dts.extend(np.diff(ts)[: _DT_SAMPLES - len(self._dts)].tolist())
        _, start, _ = self._runs(ts, x)
        moving = x != 0.0
        if np.any(moving):
            self._longest_s = max(self._longest_s, float(np.max((ts - start)[moving])) / 1e9)

    def finish(self) -> None:
        """Freeze the baseline: from now on `score` judges."""
        positive = [d for d in self._dts if d > 0]
        if self._changes < _MIN_CHANGES or not positive:
            self.threshold_ns = None
            return
        dt_ns = float(np.median(positive))
        self.threshold_ns = int(max(self.settings.min_samples * dt_ns,
                                    self.settings.factor * self._longest_s * 1e9))

    def score(self, ts: Times, x: Floats) -> list[Finding]:
        if not len(x):
            return []
        changed, start, length = self._runs(ts, x)
        if self.threshold_ns is None:
            return []
        over = (ts - start > self.threshold_ns) & (x != 0.0)
        # the first over-threshold sample of each run (run 0: the run carried in, unless
        # it was already reported); a run stays over once over: its time only grows
        run_id = np.cumsum(changed)
        fresh = over & np.concatenate([[True], (run_id[1:] != run_id[:-1]) | ~over[:-1]])
        first = np.flatnonzero(fresh)
        if self._alerted:
            first = first[run_id[first] != 0]
        self._alerted = bool(over[-1]) or (self._alerted and not np.any(changed))
        return [self._finding(int(ts[i]), int(start[i]), float(x[i]), int(length[i]))
                for i in first.tolist()]

    def _finding(self, t: int, since: int, value: float, samples: int) -> Finding:
        assert self.threshold_ns is not None
        held_s = (t - since) / 1e9
        return Finding(FindingKind.STUCK, self.tag, t, since,
                       f"stuck at {value:g} for {held_s:.0f} s ({samples} samples); "
                       f"the longest unchanged run while learning was {self._longest_s:.0f} s",
                       {"value": value, "held_s": held_s, "samples": samples,
                        "threshold_s": self.threshold_ns / 1e9,
                        "learned_longest_s": self._longest_s})
