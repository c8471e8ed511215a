"""Point-wise detection metrics as the SKAB benchmark computes them ("binary" metric of its
evaluation code): counts summed over all rows of all files, then F1 = TP / (TP + (FP+FN)/2),
FAR = FP / (FP + TN), MAR = FN / (FN + TP)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["DetectionCounts"]


def _ratio(numerator: int, denominator: int) -> float:
    return numerator / denominator if denominator else float("nan")


@dataclass(frozen=True, slots=True)
class DetectionCounts:
    tp: int = 0
    tn: int = 0
    fp: int = 0
    fn: int = 0

    @classmethod
    def of(cls, truth: npt.NDArray[np.bool_], predicted: npt.NDArray[np.bool_]
           ) -> DetectionCounts:
        if truth.shape != predicted.shape:
            raise ValueError(f"detection counts: {truth.shape} labels vs {predicted.shape} "
                             "predictions")
        return cls(tp=int(np.sum(truth & predicted)), tn=int(np.sum(~truth & ~predicted)),
                   fp=int(np.sum(~truth & predicted)), fn=int(np.sum(truth & ~predicted)))

    def __add__(self, other: DetectionCounts) -> DetectionCounts:
        return DetectionCounts(self.tp + other.tp, self.tn + other.tn, self.fp + other.fp,
                               self.fn + other.fn)

    @property
    def precision(self) -> float:
        return _ratio(self.tp, self.tp + self.fp)

    @property
    def recall(self) -> float:
        return _ratio(self.tp, self.tp + self.fn)

    @property
    def f1(self) -> float:
        return _ratio(2 * self.tp, 2 * self.tp + self.fp + self.fn)

    @property
    def false_alarm_rate(self) -> float:
        return _ratio(self.fp, self.fp + self.tn)

    @property
    def missed_alarm_rate(self) -> float:
        return _ratio(self.fn, self.fn + self.tp)
