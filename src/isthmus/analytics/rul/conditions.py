"""Operating conditions found in the operational settings: engines flown in several regimes
(C-MAPSS FD002/FD004 have six) get their sensors normalised per regime. The number of regimes
is decided from the training data: the fewest k-means clusters that remove almost all of the
settings' spread, where one more cluster would not remove most of what is left; one regime
when no small k does (FD001/FD003: noise around one point)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["OperatingConditions"]

Matrix = npt.NDArray[np.float64]

MAX_CONDITIONS = 10
_SAMPLE = 2000
#: clusters must leave less than this share of the settings' total spread
_RESIDUAL_SHARE = 0.01
#: …and one more cluster must keep at least this share of the remaining spread
_FURTHER_DROP = 0.3


@dataclass(frozen=True, slots=True)
class OperatingConditions:
    centre: Matrix  # settings
    scale: Matrix  # settings
    centroids: Matrix  # conditions × settings, in scaled units

    @classmethod
    def fit(cls, settings: Matrix) -> OperatingConditions:
        centre = settings.mean(axis=0)
        scale = settings.std(axis=0)
        scale[scale < 1e-12] = 1.0
        # regimes are found as well on an even subsample, at a fraction of the cost
        scaled = ((settings - centre) / scale)[:: max(1, settings.shape[0] // _SAMPLE)]
        total = float(np.sum((scaled - scaled.mean(axis=0)) ** 2))
        distinct = np.unique(np.round(scaled, 6), axis=0).shape[0]
        fits = [_kmeans(scaled, k) for k in range(2, min(MAX_CONDITIONS + 1, distinct) + 1)]
        inertia = [total, *(fit[1] for fit in fits)]
        centroids = scaled.mean(axis=0, keepdims=True)
        for k, (centres, _) in enumerate(fits[: MAX_CONDITIONS - 1], start=2):
            tight = total > 0 and inertia[k - 1] <= _RESIDUAL_SHARE * total
            # one more cluster must not remove most of what is left (two regimes merged)
            settled = k == len(inertia) or inertia[k] >= _FURTHER_DROP * inertia[k - 1]
            if tight and settled:
                centroids = centres
                break
        return cls(centre=centre, scale=scale, centroids=centroids)

    @property
    def count(self) -> int:
        return int(self.centroids.shape[0])

    def assign(self, settings: Matrix) -> npt.NDArray[np.int64]:
        scaled = (settings - self.centre) / self.scale
        distance = ((scaled[:, None, :] - self.centroids[None, :, :]) ** 2).sum(axis=2)
        result: npt.NDArray[np.int64] = np.argmin(distance, axis=1).astype(np.int64)
        return result


def _nearest(points: Matrix, centres: Matrix) -> tuple[npt.NDArray[np.int64], Matrix]:
    distance = ((points[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2)
    label = np.argmin(distance, axis=1).astype(np.int64)
    return label, distance[np.arange(points.shape[0]), label]


def _kmeans(points: Matrix, k: int, *, rounds: int = 50) -> tuple[Matrix, float]:
    """Lloyd's k-means from a farthest-point start (deterministic; regimes are far apart
    compared with their noise, so the farthest points land one in each)."""
    centres = points[:1].copy()
    for _ in range(1, k):
        _, gap = _nearest(points, centres)
        centres = np.vstack([centres, points[int(np.argmax(gap))]])
    label, gap = _nearest(points, centres)
    for _ in range(rounds):
        moved = np.array([points[label == j].mean(axis=0) if np.any(label == j) else centres[j]
                          for j in range(k)])
        label, gap = _nearest(points, moved)
        if np.allclose(moved, centres):
            break
        centres = moved
    return centres, float(gap.sum())
