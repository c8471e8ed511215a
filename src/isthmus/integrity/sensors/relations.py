"""Residuals of declared relationships between signals, evaluated at the samples of each
relation's clock tag with the other tags held at their latest value:

- redundant: a − b;
- linear: target − (c0 + Σ cᵢ·inputᵢ), coefficients least-squares fitted while learning;
- integral: Δtotal − gain·∫rate dt over a horizon (gain fitted unless declared);
- balance: Δlevel − ∫(inflow − outflow) dt / area over a horizon.
"""

from __future__ import annotations

import numpy as np

from isthmus.integrity.sensors.settings import (
    BalanceRelation,
    IntegralRelation,
    LinearRelation,
    RedundantRelation,
)
from isthmus.integrity.sensors.tail import Floats, Times

__all__ = ["RelationModel", "relation_model", "relation_tags"]

_PER_S = {"s": 1.0, "min": 60.0, "h": 3600.0}
_WARM_UP = 600          # rows (or evaluations) before a fitted relation gives residuals
_HISTORY = 8192


class RelationModel:
    """Turns aligned columns (clock tag first) into residuals; `learn` fits what is fitted."""

    def __init__(self, tags: list[str]) -> None:
        self.tags = tags

    def residuals(self, t: Times, cols: list[Floats]) -> Floats:
        raise NotImplementedError

    def learn(self, t: Times, cols: list[Floats]) -> Floats:
        """Residuals while learning (fitting models use what they saw so far)."""
        return self.residuals(t, cols)

    def finish(self) -> None:
        """Freeze fitted coefficients."""

    def describe(self) -> dict[str, object]:
        return {}


class Redundant(RelationModel):
    def residuals(self, t: Times, cols: list[Floats]) -> Floats:
        return cols[0] - cols[1]


class Linear(RelationModel):
    """Least squares on running normal equations, so that the residuals of the learning
    period (after a warm-up) come from the fit so far and tolerances can be learned."""

    def __init__(self, tags: list[str], *, intercept: bool = True) -> None:
        super().__init__(tags)
        self.intercept = intercept
        k = len(tags) if intercept else len(tags) - 1
        self._xtx = np.zeros((k, k))
        self._xty = np.zeros(k)
        self._rows = 0
        self.coef: Floats | None = None

    def _design(self, cols: list[Floats]) -> Floats:
        if not self.intercept:
            return np.column_stack(cols[1:])
        return np.column_stack([np.ones(len(cols[0])), *cols[1:]])

    def _solve(self) -> Floats | None:
        if self._rows < _WARM_UP:
            return None
        coef, *_ = np.linalg.lstsq(self._xtx, self._xty, rcond=None)
        return np.asarray(coef, dtype=np.float64)

    def learn(self, t: Times, cols: list[Floats]) -> Floats:
        design = self._design(cols)
        ok = np.all(np.isfinite(design), axis=1) & np.isfinite(cols[0])
        self._xtx += design[ok].T @ design[ok]
        self._xty += design[ok].T @ cols[0][ok]
        self._rows += int(np.count_nonzero(ok))
        coef = self._solve()
        return np.full(len(t), np.nan) if coef is None else cols[0] - design @ coef

    def finish(self) -> None:
        self.coef = self._solve()

    def residuals(self, t: Times, cols: list[Floats]) -> Floats:
        if self.coef is None:
            return np.full(len(t), np.nan)
        return cols[0] - self._design(cols) @ self.coef

    def describe(self) -> dict[str, object]:
        return {} if self.coef is None else {"coefficients": [float(c) for c in self.coef]}


class Integrated(RelationModel):
    """Δ(first column) over `horizon` against `gain` × the integral of the rate."""

    def __init__(self, tags: list[str], *, horizon_s: float, per_s: float,
                 gain: float | None, rate_of: str) -> None:
        super().__init__(tags)
        self.horizon_ns = int(horizon_s * 1e9)
        self.per_s = per_s
        self.gain = gain
        self._fit_gain = gain is None
        self._rate_of = rate_of                 # "rate" or "difference"
        self._t = np.zeros(0, np.int64)
        self._total = np.zeros(0)
        self._cum = np.zeros(0)
        self._last_rate = float("nan")
        self._sxy = 0.0
        self._sxx = 0.0
        self._seen = 0

    def _deltas(self, t: Times, cols: list[Floats]) -> tuple[Floats, Floats]:
        rate = cols[1] if self._rate_of == "rate" else cols[1] - cols[2]
        prev_t = self._t[-1] if len(self._t) else (t[0] if len(t) else 0)
        prev_cum = self._cum[-1] if len(self._cum) else 0.0
        rates = np.concatenate([[self._last_rate], rate[:-1]])
        dt = np.diff(np.concatenate([[prev_t], t])) / 1e9 / self.per_s
        cum = prev_cum + np.cumsum(np.nan_to_num(rates * dt))
        all_t = np.concatenate([self._t, t])
        all_total = np.concatenate([self._total, cols[0]])
        all_cum = np.concatenate([self._cum, cum])
        prior = len(self._t)
        back = np.searchsorted(all_t, all_t[prior:] - self.horizon_ns, side="right") - 1
        full = back >= 0
        j = np.maximum(back, 0)
        d_total = np.where(full, all_total[prior:] - all_total[j], np.nan)
        d_int = np.where(full, all_cum[prior:] - all_cum[j], np.nan)
        self._t, self._total = all_t[-_HISTORY:], all_total[-_HISTORY:]
        self._cum = all_cum[-_HISTORY:]
        if len(rate):
            self._last_rate = float(rate[-1])
        return d_total, d_int

    def learn(self, t: Times, cols: list[Floats]) -> Floats:
        d_total, d_int = self._deltas(t, cols)
        ok = np.isfinite(d_total) & np.isfinite(d_int)
        self._sxy += float(np.sum(d_total[ok] * d_int[ok]))
        self._sxx += float(np.sum(d_int[ok] ** 2))
        self._seen += int(np.count_nonzero(ok))
        gain = self.gain
        if self._fit_gain:                       # the fit so far, after a warm-up
            gain = self._sxy / self._sxx if self._sxx > 0 and self._seen >= _WARM_UP else None
        return np.full(len(t), np.nan) if gain is None else d_total - gain * d_int

    def finish(self) -> None:
        if self._fit_gain:
            self.gain = self._sxy / self._sxx if self._sxx > 0 else None

    def residuals(self, t: Times, cols: list[Floats]) -> Floats:
        d_total, d_int = self._deltas(t, cols)
        if self.gain is None:
            return np.full(len(t), np.nan)
        return d_total - self.gain * d_int

    def describe(self) -> dict[str, object]:
        return {"gain": self.gain, "horizon_s": self.horizon_ns / 1e9}


Relation = RedundantRelation | LinearRelation | IntegralRelation | BalanceRelation


def relation_tags(relation: Relation) -> list[str]:
    """The relation's tags as written, its clock tag (the one whose samples it is judged
    at) first."""
    if isinstance(relation, RedundantRelation):
        return [relation.a, relation.b]
    if isinstance(relation, LinearRelation):
        return [relation.target, *relation.inputs]
    if isinstance(relation, IntegralRelation):
        return [relation.total, relation.rate]
    return [relation.level, relation.inflow, relation.outflow]


def relation_model(relation: Relation, tags: list[str]) -> RelationModel:
    """The residual model of `relation`, over its resolved tag paths `tags`."""
    if isinstance(relation, RedundantRelation):
        return Redundant(tags)
    if isinstance(relation, LinearRelation):
        return Linear(tags, intercept=relation.intercept)
    if isinstance(relation, IntegralRelation):
        return Integrated(tags, horizon_s=relation.horizon, per_s=_PER_S[relation.per],
                          gain=relation.gain, rate_of="rate")
    return Integrated(tags, horizon_s=relation.horizon, per_s=_PER_S[relation.per],
                      gain=1.0 / relation.area, rate_of="difference")

