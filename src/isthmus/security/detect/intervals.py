"""Sets of integer address ranges kept merged: [[0, 9], [100, 119]]."""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["contains", "merge"]


def merge(ranges: Iterable[tuple[int, int]]) -> list[list[int]]:
    """Inclusive ranges sorted and merged (touching ranges join: [0,4] + [5,9] = [0,9])."""
    out: list[list[int]] = []
    for low, high in sorted(ranges):
        if out and low <= out[-1][1] + 1:
            out[-1][1] = max(out[-1][1], high)
        else:
            out.append([low, high])
    return out


def contains(merged: list[list[int]], low: int, high: int) -> bool:
    """Whether [low, high] lies inside one of the merged ranges."""
    return any(a <= low and high <= b for a, b in merged)
