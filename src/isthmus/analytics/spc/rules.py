"""Western Electric (1–4) and Nelson (1–8) run rules over the points of a control chart,
expressed in sigma units z = (x − centre) / σ.

`rules_at(z)` looks at the points ending with the latest one and returns the rules that hold
there with the indices (into `z`) of the points involved. `RuleWatch` feeds points one by
one and reports a rule when it starts to hold (rule 1 on every point beyond 3σ), so a long
run is one event, not one per point.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

__all__ = ["LONGEST_RULE", "RuleHit", "RuleSet", "RuleWatch", "rules_at"]

RuleSet = Literal["nelson", "western_electric"]
LONGEST_RULE = 15


@dataclass(frozen=True, slots=True)
class RuleHit:
    rules: RuleSet
    rule: int
    points: tuple[int, ...]  # indices of the points involved, oldest first
    description: str


def _tail(z: Sequence[float], k: int) -> list[tuple[int, float]] | None:
    if len(z) < k:
        return None
    return list(enumerate(z))[len(z) - k:]


def _beyond(z: Sequence[float], limit: float) -> tuple[int, ...] | None:
    if abs(z[-1]) > limit:
        return (len(z) - 1,)
    return None


def _same_side(z: Sequence[float], k: int) -> tuple[int, ...] | None:
    tail = _tail(z, k)
    if tail and (all(v > 0 for _, v in tail) or all(v < 0 for _, v in tail)):
        return tuple(i for i, _ in tail)
    return None


def _k_of_m(z: Sequence[float], k: int, m: int, limit: float) -> tuple[int, ...] | None:
    tail = _tail(z, m)
    if tail is None:
        return None
    for sign in (1.0, -1.0):
        out = [i for i, v in tail if sign * v > limit]
        if len(out) >= k:
            return tuple(out)
    return None


def _trend(z: Sequence[float], k: int) -> tuple[int, ...] | None:
    tail = _tail(z, k)
    if tail is None:
        return None
    steps = [b - a for (_, a), (_, b) in itertools.pairwise(tail)]
    if all(s > 0 for s in steps) or all(s < 0 for s in steps):
        return tuple(i for i, _ in tail)
    return None


def _alternating(z: Sequence[float], k: int) -> tuple[int, ...] | None:
    tail = _tail(z, k)
    if tail is None:
        return None
    steps = [b - a for (_, a), (_, b) in itertools.pairwise(tail)]
    if all(s1 * s2 < 0 for s1, s2 in itertools.pairwise(steps)):
        return tuple(i for i, _ in tail)
    return None


def _hugging(z: Sequence[float], k: int) -> tuple[int, ...] | None:
    tail = _tail(z, k)
    if tail and all(abs(v) < 1 for _, v in tail):
        return tuple(i for i, _ in tail)
    return None


def _avoiding(z: Sequence[float], k: int) -> tuple[int, ...] | None:
    tail = _tail(z, k)
    if tail and all(abs(v) > 1 for _, v in tail) and any(v > 0 for _, v in tail) \
            and any(v < 0 for _, v in tail):
        return tuple(i for i, _ in tail)
    return None


Check = Callable[[Sequence[float]], "tuple[int, ...] | None"]

_NELSON: dict[int, tuple[Check, str]] = {
    1: (lambda z: _beyond(z, 3.0), "one point beyond 3σ"),
    2: (lambda z: _same_side(z, 9), "nine points in a row on one side of the centre line"),
    3: (lambda z: _trend(z, 6), "six points in a row steadily increasing or decreasing"),
    4: (lambda z: _alternating(z, 14), "fourteen points in a row alternating up and down"),
    5: (lambda z: _k_of_m(z, 2, 3, 2.0), "two of three points beyond 2σ on one side"),
    6: (lambda z: _k_of_m(z, 4, 5, 1.0), "four of five points beyond 1σ on one side"),
    7: (lambda z: _hugging(z, 15), "fifteen points in a row within 1σ"),
    8: (lambda z: _avoiding(z, 8), "eight points in a row beyond 1σ, on both sides"),
}

_WESTERN_ELECTRIC: dict[int, tuple[Check, str]] = {
    1: _NELSON[1],
    2: _NELSON[5],
    3: _NELSON[6],
    4: (lambda z: _same_side(z, 8), "eight points in a row on one side of the centre line"),
}


def rules_at(z: Sequence[float], rules: RuleSet = "nelson") -> list[RuleHit]:
    """The rules of `rules` that hold at the last point of `z`."""
    table = _NELSON if rules == "nelson" else _WESTERN_ELECTRIC
    hits = []
    for number, (check, text) in table.items():
        points = check(z)
        if points is not None:
            hits.append(RuleHit(rules, number, points, text))
    return hits


class RuleWatch:
    """Points one at a time; reports each rule when it starts to hold. Keeps the last 15
    points only."""

    def __init__(self, rules: RuleSet = "nelson") -> None:
        self.rules: RuleSet = rules
        self._z: deque[float] = deque(maxlen=LONGEST_RULE)
        self._holding: set[int] = set()
        self.count = 0  # points seen

    def add(self, z: float) -> list[RuleHit]:
        """Add a point; the rules it triggers, with point indices counted from the first
        point ever added."""
        self._z.append(z)
        self.count += 1
        offset = self.count - len(self._z)
        hits = rules_at(list(self._z), self.rules)
        holding = {h.rule for h in hits}
        fresh = [RuleHit(h.rules, h.rule, tuple(i + offset for i in h.points), h.description)
                 for h in hits if h.rule == 1 or h.rule not in self._holding]
        self._holding = holding
        return fresh
