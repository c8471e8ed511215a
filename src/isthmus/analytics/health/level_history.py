"""A signal's level history decimated to fixed steps: the median of the samples in each step
(robust to spikes and to short stops), the last `capacity` steps kept in a ring."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["LevelHistory"]

Vector = npt.NDArray[np.float64]
Times = npt.NDArray[np.int64]


class LevelHistory:
    def __init__(self, *, resolution_ns: int, capacity: int) -> None:
        if resolution_ns <= 0 or capacity < 1:
            raise ValueError("level history: resolution and capacity must be positive")
        self.resolution_ns = resolution_ns
        self._ends = np.zeros(capacity, dtype=np.int64)
        self._levels = np.zeros(capacity)
        self._next = 0
        self._size = 0
        self._step: int | None = None  # index of the step being filled
        self._pending: list[Vector] = []

    def __len__(self) -> int:
        return self._size

    @property
    def capacity(self) -> int:
        return int(self._ends.size)

    def add(self, ts: Times, values: Vector) -> list[int]:
        """Add samples (in time order, as a batch delivers them); return the end times of
        the steps this closed. Samples from a step already closed are dropped."""
        steps = ts // self.resolution_ns
        closed: list[int] = []
        if self._step is not None:
            keep = steps >= self._step
            steps, values = steps[keep], values[keep]
        if not steps.size:
            return closed
        for step in np.unique(steps):
            if self._step is not None and step != self._step:
                closed.append(self._close())
            self._step = int(step)
            self._pending.append(values[steps == step])
        return closed

    def _close(self) -> int:
        assert self._step is not None
        end = (self._step + 1) * self.resolution_ns
        self._ends[self._next] = end
        self._levels[self._next] = float(np.median(np.concatenate(self._pending)))
        self._next = (self._next + 1) % self._ends.size
        self._size = min(self._size + 1, self._ends.size)
        self._pending = []
        return end

    def series(self) -> tuple[Times, Vector]:
        """The kept steps, oldest first: (end time, median level)."""
        order = (self._next - self._size + np.arange(self._size)) % self._ends.size
        return self._ends[order], self._levels[order]

    def level_at(self, end: int) -> float | None:
        """The level of the step ending at `end`, else of the latest kept step before it
        (sample and hold); None if none is kept."""
        ends, levels = self.series()
        index = int(np.searchsorted(ends, end, side="right")) - 1
        return float(levels[index]) if index >= 0 else None

    @property
    def latest(self) -> float | None:
        if not self._size:
            return None
        return float(self._levels[(self._next - 1) % self._ends.size])
