"""Judging a relation's residual against what it did on the clean period.

- **inconsistent**: |r − μ| beyond the tolerance (declared, or `margin` × the worst
  learned) continuously for `hold` seconds, having jumped there (first excursion more
  than twice the tolerance). Residuals integrated over a horizon (integral, balance)
  always creep, so their excursions are all inconsistencies;
- **drift**: the same, but having crept there; or, while every sample is still within
  the tolerance, the residual's slow average (an EWMA with time constant τ) beyond
  `margin` × the worst average seen while learning (at least a quarter of the tolerance).

One finding per excursion; the judge re-arms once the residual has been back within the
tolerance for `hold` (its average restarting from there).
"""

from __future__ import annotations

import math

import numpy as np

from isthmus.integrity.sensors.findings import Finding, FindingKind
from isthmus.integrity.sensors.tail import Floats, Times

__all__ = ["ResidualJudge"]

_KEPT = 8192


class ResidualJudge:
    def __init__(self, name: str, tag: str, *, tolerance: float | None, hold_s: float,
                 tau_s: float, margin: float, evidence: dict[str, object],
                 classify: bool = True) -> None:
        self.name, self.tag = name, tag
        self.tolerance = tolerance
        self.hold_ns = int(hold_s * 1e9)
        self.tau_ns = tau_s * 1e9
        self.margin = margin
        self.evidence = evidence
        self.classify = classify    # tell jumps from creeps (not for integrated residuals)
        self._sample: list[float] = []
        self._r_range = [math.inf, -math.inf]
        self._e_range = [math.inf, -math.inf]
        self._ewma: float | None = None
        self._ewma_start = 0
        self._last_t = 0
        self.mu: float | None = None          # None while learning
        self.limit = 0.0
        self._out_since: int | None = None
        self._in_since: int | None = None
        self._first_dev = 0.0
        self._alerted = False

    def _average(self, t: int, r: float) -> float:
        if self._ewma is None:
            self._ewma, self._ewma_start = r, t
        else:
            alpha = 1.0 - math.exp(-max(0, t - self._last_t) / self.tau_ns)
            self._ewma += alpha * (r - self._ewma)
        self._last_t = t
        return self._ewma

    def learn(self, t: Times, r: Floats) -> None:
        ok = np.isfinite(r)
        if not np.any(ok):
            return
        t, r = t[ok], r[ok]
        self._r_range = [min(self._r_range[0], float(r.min())),
                         max(self._r_range[1], float(r.max()))]
        if len(self._sample) < _KEPT:
            self._sample.extend(r[:: max(1, len(r) // 64)].tolist())
        for ti, ri in zip(t.tolist(), r.tolist(), strict=True):
            e = self._average(ti, ri)
            if ti - self._ewma_start >= self.tau_ns:   # warmed up
                self._e_range = [min(self._e_range[0], e), max(self._e_range[1], e)]

    def finish(self) -> None:
        if not self._sample:
            return
        mu = float(np.median(self._sample))
        worst = max(self._r_range[1] - mu, mu - self._r_range[0])
        if self.tolerance is None:
            self.tolerance = max(self.margin * worst, 1e-9 * (1.0 + abs(mu)))
        e_worst = (max(self._e_range[1] - mu, mu - self._e_range[0])
                   if math.isfinite(self._e_range[0]) else worst)
        # the average never needs to be judged finer than a quarter of the tolerance
        self.limit = max(self.margin * e_worst, self.tolerance / 4, 1e-9 * (1.0 + abs(mu)))
        self.mu = mu

    def score(self, t: Times, r: Floats) -> list[Finding]:
        findings = []
        for ti, ri in zip(t.tolist(), r.tolist(), strict=True):
            if not math.isfinite(ri):
                continue
            e = self._average(ti, ri)
            if self.mu is not None:
                finding = self._judge(ti, ri, e)
                if finding is not None:
                    findings.append(finding)
        return findings

    def _judge(self, t: int, r: float, e: float) -> Finding | None:
        assert self.mu is not None and self.tolerance is not None
        dev, avg_dev = r - self.mu, e - self.mu
        if abs(dev) > self.tolerance:
            self._in_since = None
            if self._out_since is None:
                self._out_since, self._first_dev = t, dev
        else:
            self._out_since = None
            if self._in_since is None:
                self._in_since = t
            if self._alerted and t - self._in_since >= self.hold_ns:
                self._alerted = False         # back in band for `hold`: judge afresh
                self._ewma = self.mu
                return None
        if self._alerted:
            return None
        if self._out_since is not None and t - self._out_since >= self.hold_ns:
            jumped = not self.classify or abs(self._first_dev) > 2 * self.tolerance
            kind = FindingKind.INCONSISTENT if jumped else FindingKind.DRIFT
            how = "jumped out of" if jumped else "crept out of"
            return self._found(kind, t, self._out_since, r, e,
                               f"residual {dev:+.4g} {how} tolerance ±{self.tolerance:.4g} "
                               f"for {(t - self._out_since) / 1e9:.0f} s")
        if self._out_since is None and abs(avg_dev) > self.limit:
            return self._found(FindingKind.DRIFT, t, t, r, e,
                               f"residual average {avg_dev:+.4g} beyond ±{self.limit:.4g} "
                               f"(τ {self.tau_ns / 1e9:.0f} s): a slow drift")
        return None

    def _found(self, kind: FindingKind, t: int, since: int, r: float, e: float,
               what: str) -> Finding:
        self._alerted = True
        assert self.mu is not None
        return Finding(kind, self.tag, t, since, f"relation {self.name}: {what}",
                       {"relation": self.name, "residual": r, "residual_average": e,
                        "learned_mean": self.mu, "tolerance": self.tolerance,
                        "average_limit": self.limit, "hold_s": self.hold_ns / 1e9,
                        **self.evidence})
