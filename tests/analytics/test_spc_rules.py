"""Each Western Electric and Nelson rule on a hand-made run of points (in σ units)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from isthmus.analytics.spc import RuleWatch, rules_at

QUIET_15 = [0.1, 0.2, -0.1, -0.2] * 3 + [0.1, 0.2, -0.1]  # no rule but Nelson 7


def fired(z: list[float], rules: str = "nelson") -> dict[int, tuple[int, ...]]:
    return {h.rule: h.points for h in rules_at(z, rules)}  # type: ignore[arg-type]


def test_nelson_1_one_point_beyond_three_sigma() -> None:
    assert fired([0.0, 0.0, -3.2]) == {1: (2,)}


def test_nelson_2_nine_on_one_side_but_not_eight() -> None:
    assert fired([0.5] * 9) == {2: tuple(range(9))}
    assert 2 not in fired([0.5] * 8)


def test_nelson_3_six_increasing_but_not_five() -> None:
    z = [-0.5, -0.3, -0.1, 0.1, 0.3, 0.5]
    assert fired(z) == {3: tuple(range(6))}
    assert fired(z[1:]) == {}


def test_nelson_4_fourteen_alternating_but_not_thirteen() -> None:
    z = [0.5, -0.5] * 7
    assert fired(z) == {4: tuple(range(14))}
    assert fired(z[1:]) == {}


def test_nelson_5_two_of_three_beyond_two_sigma_same_side() -> None:
    assert fired([0.0, 2.5, 0.0, 2.5]) == {5: (1, 3)}
    assert fired([0.0, 2.5, 0.0, -2.5]) == {}  # opposite sides


def test_nelson_6_four_of_five_beyond_one_sigma_same_side() -> None:
    assert fired([1.5, 1.5, 0.0, 1.5, 1.5]) == {6: (0, 1, 3, 4)}
    assert fired([1.5, 1.5, 0.0, 1.5, -1.5]) == {}


def test_nelson_7_fifteen_within_one_sigma_but_not_fourteen() -> None:
    assert fired(QUIET_15) == {7: tuple(range(15))}
    assert fired(QUIET_15[1:]) == {}


def test_nelson_8_eight_beyond_one_sigma_on_both_sides() -> None:
    assert fired([1.5, -1.5] * 4) == {8: tuple(range(8))}
    assert 8 not in fired([1.5] * 8)  # one side only is rule 2's business


def test_western_electric_4_is_eight_on_one_side() -> None:
    assert fired([0.5] * 8, "western_electric") == {4: tuple(range(8))}
    assert fired([0.5] * 7, "western_electric") == {}


def test_western_electric_1_to_3_match_nelson_1_5_6() -> None:
    assert fired([0.0, 3.5], "western_electric") == {1: (1,)}
    assert fired([0.0, 2.5, 0.0, 2.5], "western_electric") == {2: (1, 3)}
    assert fired([1.5, 1.5, 0.0, 1.5, 1.5], "western_electric") == {3: (0, 1, 3, 4)}


def test_a_long_run_is_reported_once_when_it_starts() -> None:
    watch = RuleWatch("nelson")
    reported = [(watch.count, h.rule) for z in [0.5] * 12 for h in watch.add(z)]
    assert reported == [(9, 2)]


def test_rule_1_is_reported_on_every_point_beyond() -> None:
    watch = RuleWatch("western_electric")
    reported = [h.points for z in [3.5, 3.5, 0.0] for h in watch.add(z) if h.rule == 1]
    assert reported == [(0,), (1,)]


@given(st.lists(st.floats(-0.99, 0.99), min_size=1, max_size=14))
def test_points_within_one_sigma_never_break_a_zone_rule(z: list[float]) -> None:
    assert {1, 5, 6, 8} & set(fired(z)) == set()


@pytest.mark.parametrize("rules", ["nelson", "western_electric"])
@given(z=st.lists(st.floats(-5, 5), min_size=1, max_size=40))
def test_points_named_by_a_rule_are_the_latest_ones(rules: str, z: list[float]) -> None:
    for hit in rules_at(z, rules):  # type: ignore[arg-type]
        assert hit.points[-1] <= len(z) - 1
        assert hit.points[0] >= len(z) - 15
