"""A bounded tail of a tag's recent samples, so that a detector sees each batch with the
context the previous batches left it, without keeping more than `keep` samples."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["Tail"]

Floats = npt.NDArray[np.float64]
Times = npt.NDArray[np.int64]


class Tail:
    """The last `keep` (ts, value) pairs seen."""

    def __init__(self, keep: int) -> None:
        if keep < 1:
            raise ValueError(f"a tail keeps at least one sample, not {keep}")
        self.keep = keep
        self.ts: Times = np.zeros(0, np.int64)
        self.x: Floats = np.zeros(0, np.float64)

    def __len__(self) -> int:
        return len(self.x)

    def extend(self, ts: Times, x: Floats) -> tuple[Times, Floats, int]:
        """The tail followed by the new samples, and how many of them came from the tail;
        afterwards the tail holds the last `keep` of them."""
        prior = len(self.x)
        all_ts = np.concatenate([self.ts, ts])
        all_x = np.concatenate([self.x, x])
        self.ts, self.x = all_ts[-self.keep:].copy(), all_x[-self.keep:].copy()
        return all_ts, all_x, prior
