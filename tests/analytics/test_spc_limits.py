"""Control chart constants and limits against hand computation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from isthmus.analytics.spc import E2, capability, constants_for, i_mr_limits, xbar_r_limits
from isthmus.analytics.spc.capability import CapabilityAccumulator
from isthmus.config.efficiency import SpecLimits


@pytest.mark.parametrize("n", range(2, 11))
def test_a2_is_three_over_d2_root_n(n: int) -> None:
    k = constants_for(n)
    assert k.a2 == pytest.approx(3 / (k.d2 * math.sqrt(n)), abs=0.0015)


@pytest.mark.parametrize("n", range(7, 11))
def test_d3_and_d4_are_symmetric_around_one_when_d3_is_positive(n: int) -> None:
    # D3 = 1 − 3·d3/d2 and D4 = 1 + 3·d3/d2
    k = constants_for(n)
    assert k.d3 + k.d4 == pytest.approx(2.0, abs=0.0015)


def test_d4_for_pairs_from_d3() -> None:
    # d3(2) = 0.8525: D4 = 1 + 3 × 0.8525 / 1.128 = 3.2673
    assert constants_for(2).d4 == pytest.approx(1 + 3 * 0.8525 / 1.128, abs=0.001)


def test_e2_is_three_over_d2_of_two() -> None:
    assert pytest.approx(3 / 1.128, abs=0.001) == E2


def test_subgroup_outside_table_is_refused() -> None:
    with pytest.raises(ValueError, match="subgroup size 11"):
        constants_for(11)


def test_xbar_r_limits_by_hand() -> None:
    # means 2, 3, 5 → X̄̄ = 10/3; ranges 2, 2, 5 → R̄ = 3; A2(3) = 1.023, D4(3) = 2.574
    limits = xbar_r_limits(np.array([[1, 2, 3], [2, 3, 4], [3, 4, 8]], np.float64))
    assert limits.center == pytest.approx(10 / 3)
    assert limits.ucl == pytest.approx(10 / 3 + 1.023 * 3)
    assert limits.lcl == pytest.approx(10 / 3 - 1.023 * 3)
    assert (limits.range_lcl, limits.range_ucl) == (0.0, pytest.approx(2.574 * 3))


def test_i_mr_limits_by_hand() -> None:
    # mean 12; moving ranges 2, 1, 4 → MR̄ = 7/3; E2 = 2.660, D4(2) = 3.267
    limits = i_mr_limits(np.array([10, 12, 11, 15], np.float64))
    assert limits.center == 12
    assert limits.ucl == pytest.approx(12 + 2.660 * 7 / 3)
    assert limits.range_ucl == pytest.approx(3.267 * 7 / 3)


def test_capability_of_individuals_by_hand() -> None:
    # mean 10; MR̄ = (2+1+2+4)/4 = 2.25 → σw = 2.25/1.128; deviations −1 1 0 2 −2 → s = √2.5
    totals = CapabilityAccumulator(1)
    totals.add(np.array([9, 11, 10], np.float64))
    totals.add(np.array([12, 8], np.float64))  # moving range spans the two calls
    result = totals.result(SpecLimits(lsl=4, usl=16))
    assert result is not None
    sigma_w, sigma = 2.25 / 1.128, math.sqrt(2.5)
    assert (result.n, result.mean) == (5, pytest.approx(10))
    assert result.cp == pytest.approx(12 / (6 * sigma_w))
    assert result.cpk == pytest.approx(6 / (3 * sigma_w))
    assert result.pp == pytest.approx(12 / (6 * sigma))
    assert result.ppk == pytest.approx(6 / (3 * sigma))


def test_capability_of_subgroups_uses_r_bar_over_d2() -> None:
    # subgroups (1,3) and (2,6): R̄ = 3, d2(2) = 1.128; the odd value waits for its partner
    totals = CapabilityAccumulator(2)
    totals.add(np.array([1, 3, 2], np.float64))
    totals.add(np.array([6], np.float64))
    result = totals.result(SpecLimits(usl=10))
    assert result is not None
    assert result.sigma_within == pytest.approx(3 / 1.128)
    assert result.cp is None  # one-sided spec: no Cp
    assert result.cpk == pytest.approx((10 - 3) / (3 * 3 / 1.128))


def test_off_centre_process_has_cpk_below_cp() -> None:
    result = capability(12.0, 1.0, 1.0, 10, SpecLimits(lsl=4, usl=16))
    assert result.cp == pytest.approx(2.0)
    assert result.cpk == pytest.approx(4 / 3)


@given(values=st.lists(st.floats(400, 600), min_size=4, max_size=60),
       cuts=st.lists(st.integers(0, 60), max_size=5), subgroup=st.sampled_from([1, 2, 5]))
def test_capability_does_not_depend_on_how_batches_are_cut(
        values: list[float], cuts: list[int], subgroup: int) -> None:
    whole = CapabilityAccumulator(subgroup)
    whole.add(np.array(values))
    pieces = CapabilityAccumulator(subgroup)
    for part in np.split(np.array(values), sorted(c for c in cuts if c < len(values))):
        pieces.add(part)
    spec = SpecLimits(lsl=450, usl=550)
    a, b = whole.result(spec), pieces.result(spec)
    assert (a is None) == (b is None)
    if a is not None and b is not None:
        assert (a.n, a.cp, a.pp) == (b.n, pytest.approx(b.cp), pytest.approx(b.pp))
