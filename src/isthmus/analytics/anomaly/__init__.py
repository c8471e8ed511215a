"""Anomaly detection: a PCA model of normal multivariate behaviour (T², SPE and per-signal
contributions), univariate robust z-score and seasonal baselines, and the streaming engine
that scores tag groups on the bus."""

from isthmus.analytics.anomaly.errors import AnomalyError, NotTrainedError, TrainingDataError
from isthmus.analytics.anomaly.multivariate import (
    DetectorSettings,
    MultivariateDetector,
    RowScores,
)
from isthmus.analytics.anomaly.pca_model import PcaModel, PcaScores
from isthmus.analytics.anomaly.standardise import Standardiser

__all__ = [
    "AnomalyError",
    "DetectorSettings",
    "MultivariateDetector",
    "NotTrainedError",
    "PcaModel",
    "PcaScores",
    "RowScores",
    "Standardiser",
    "TrainingDataError",
]
