"""PCA model of normal behaviour: Hotelling's T² inside the model plane, SPE (Q) off it, and
each variable's share of both, so an alarm can name the signals behind it."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from isthmus.analytics.anomaly.errors import TrainingDataError

__all__ = ["PcaModel", "PcaScores"]

Matrix = npt.NDArray[np.float64]

#: eigenvalues below this share of the largest are numerical noise, never kept
_RELATIVE_EIGEN_FLOOR = 1e-10


@dataclass(frozen=True, slots=True)
class PcaScores:
    """Per-row statistics; `contributions` is rows × variables, each row summing to `t2 +
    spe` up to the T² cross terms (which can make single entries negative)."""

    t2: Matrix
    spe: Matrix
    contributions: Matrix


@dataclass(frozen=True, slots=True)
class PcaModel:
    """Principal components of already-centred-and-scaled training rows."""

    centre: Matrix  # variables
    loadings: Matrix  # variables × kept components
    eigenvalues: Matrix  # kept components

    @classmethod
    def fit(cls, rows: Matrix, *, variance: float = 0.95) -> PcaModel:
        """Keep the fewest components that explain `variance` of the training variance."""
        if not 0.0 < variance <= 1.0:
            raise ValueError(f"pca: variance must be in (0, 1], got {variance}")
        if rows.ndim != 2 or rows.shape[0] < 2 or rows.shape[1] < 1:
            raise TrainingDataError(f"pca: need at least 2 rows and 1 column, got {rows.shape}")
        centre = rows.mean(axis=0)
        centred = rows - centre
        _, singular, vt = np.linalg.svd(centred, full_matrices=False)
        eigen = singular ** 2 / (rows.shape[0] - 1)
        if eigen.size == 0 or eigen[0] <= 0.0:
            raise TrainingDataError("pca: the training rows do not vary at all")
        usable = int(np.sum(eigen > eigen[0] * _RELATIVE_EIGEN_FLOOR))
        share = np.cumsum(eigen[:usable]) / eigen[:usable].sum()
        kept = min(usable, int(np.searchsorted(share, variance - 1e-12)) + 1)
        return cls(centre=centre, loadings=vt[:kept].T.copy(), eigenvalues=eigen[:kept].copy())

    @property
    def components(self) -> int:
        return int(self.eigenvalues.size)

    def score(self, rows: Matrix) -> PcaScores:
        rows = rows - self.centre
        projected = rows @ self.loadings
        residual = rows - projected @ self.loadings.T
        weighted = projected / self.eigenvalues
        t2 = np.sum(weighted * projected, axis=1)
        spe = np.sum(residual ** 2, axis=1)
        # T² contribution of variable j: x_j · Σ_k p_jk t_k / λ_k (sums to T² over j)
        t2_part = rows * (weighted @ self.loadings.T)
        return PcaScores(t2=t2, spe=spe, contributions=t2_part + residual ** 2)
