"""Control chart constants for subgroups of n = 2…10 (ASTM STP 15D / Montgomery, Appendix VI):
d2 (mean relative range), A2 (X̄ limits from R̄), D3/D4 (R limits), E2 (individuals limits
from the mean moving range of span 2)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["E2", "ChartConstants", "constants_for"]


@dataclass(frozen=True, slots=True)
class ChartConstants:
    n: int
    d2: float
    a2: float
    d3: float
    d4: float


_TABLE: dict[int, tuple[float, float, float, float]] = {
    #    d2     A2     D3     D4
    2: (1.128, 1.880, 0.000, 3.267),
    3: (1.693, 1.023, 0.000, 2.574),
    4: (2.059, 0.729, 0.000, 2.282),
    5: (2.326, 0.577, 0.000, 2.114),
    6: (2.534, 0.483, 0.000, 2.004),
    7: (2.704, 0.419, 0.076, 1.924),
    8: (2.847, 0.373, 0.136, 1.864),
    9: (2.970, 0.337, 0.184, 1.816),
    10: (3.078, 0.308, 0.223, 1.777),
}

#: individuals chart: limits are X̄ ± E2·MR̄, E2 = 3 / d2(2)
E2 = 2.660


def constants_for(n: int) -> ChartConstants:
    try:
        d2, a2, d3, d4 = _TABLE[n]
    except KeyError:
        raise ValueError(f"subgroup size {n} is outside the tabulated 2…10") from None
    return ChartConstants(n, d2, a2, d3, d4)
