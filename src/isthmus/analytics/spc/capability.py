"""Process capability against spec limits: Cp/Cpk from the within-subgroup σ (R̄/d2 or
MR̄/d2(2)), Pp/Ppk from the overall sample σ. A one-sided spec gives only the side it has
(Cp and Pp need both limits)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from isthmus.analytics.spc.constants import constants_for
from isthmus.config.efficiency import SpecLimits

__all__ = ["Capability", "CapabilityAccumulator", "capability"]


@dataclass(frozen=True, slots=True)
class Capability:
    n: int
    mean: float
    sigma_within: float
    sigma_overall: float
    cp: float | None
    cpk: float | None
    pp: float | None
    ppk: float | None


def _indices(mean: float, sigma: float, spec: SpecLimits) -> tuple[float | None, float | None]:
    if not sigma > 0:
        return None, None
    spread = None
    if spec.lsl is not None and spec.usl is not None:
        spread = (spec.usl - spec.lsl) / (6 * sigma)
    sides = [(spec.usl - mean) / (3 * sigma) if spec.usl is not None else math.inf,
             (mean - spec.lsl) / (3 * sigma) if spec.lsl is not None else math.inf]
    return spread, min(sides)


def capability(mean: float, sigma_within: float, sigma_overall: float, n: int,
               spec: SpecLimits) -> Capability:
    cp, cpk = _indices(mean, sigma_within, spec)
    pp, ppk = _indices(mean, sigma_overall, spec)
    return Capability(n, mean, sigma_within, sigma_overall, cp, cpk, pp, ppk)


@dataclass(slots=True)
class CapabilityAccumulator:
    """Running sums for one period: values (mean, overall σ) and the ranges of complete
    subgroups of `subgroup` values (or moving ranges when `subgroup` is 1)."""

    subgroup: int
    n: int = 0
    total: float = 0.0
    total_sq: float = 0.0
    ranges: float = 0.0
    range_count: int = 0
    _shift: float = 0.0
    _open: list[float] = field(default_factory=list)

    def add(self, values: npt.NDArray[np.float64]) -> None:
        if len(values) == 0:
            return
        shift = float(values[0])  # sums of squares around a shift keep their precision
        if self.n == 0:
            self._shift = shift
        centred = values - self._shift
        self.n += len(values)
        self.total += float(centred.sum())
        self.total_sq += float((centred * centred).sum())
        pending = np.concatenate([np.asarray(self._open, np.float64), values])
        if self.subgroup == 1:
            self.ranges += float(np.abs(np.diff(pending)).sum())
            self.range_count += max(len(pending) - 1, 0)
            self._open = [float(pending[-1])]
            return
        full = len(pending) // self.subgroup * self.subgroup
        groups = pending[:full].reshape(-1, self.subgroup)
        self.ranges += float((groups.max(axis=1) - groups.min(axis=1)).sum())
        self.range_count += len(groups)
        self._open = [float(v) for v in pending[full:]]

    def result(self, spec: SpecLimits) -> Capability | None:
        if self.n < 2 or self.range_count == 0:
            return None
        mean_c = self.total / self.n
        var = max((self.total_sq - self.n * mean_c * mean_c) / (self.n - 1), 0.0)
        d2 = constants_for(max(self.subgroup, 2)).d2
        return capability(mean_c + self._shift, self.ranges / self.range_count / d2,
                          math.sqrt(var), self.n, spec)
