"""Synthetic signals for the detector tests: stationary noise of a given level, and the
same with one fault written in."""

from __future__ import annotations

import itertools

import numpy as np
import numpy.typing as npt

from isthmus.integrity.sensors.engine import TagDetector
from isthmus.integrity.sensors.findings import Finding

S = 1_000_000_000
TAG = "acme/test/area/line/cell/asset/signal"


def noise(n: int, *, level: float, sigma: float, seed: int) -> npt.NDArray[np.float64]:
    rng = np.random.default_rng(seed)
    return level + sigma * rng.standard_normal(n)


def times(n: int, *, first: int = 0) -> npt.NDArray[np.int64]:
    return (np.arange(n, dtype=np.int64) + first) * S


def learn_then_score(detector: TagDetector, learn: npt.NDArray[np.float64],
                     judge: npt.NDArray[np.float64], *,
                     cuts: list[int] | None = None) -> list[Finding]:
    """Learn on `learn` (one batch), then score `judge` in batches cut at `cuts`."""
    detector.learn(times(len(learn)), learn)
    detector.finish()
    t = times(len(judge), first=len(learn))
    edges = [0, *sorted(set(c for c in (cuts or []) if 0 < c < len(judge))), len(judge)]
    findings: list[Finding] = []
    for a, b in itertools.pairwise(edges):
        findings += detector.score(t[a:b], judge[a:b])
    return findings
