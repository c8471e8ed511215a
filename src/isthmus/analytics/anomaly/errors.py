"""The anomaly-detection error tree.

    AnomalyError
    ├── NotTrainedError      scoring before the model has seen its clean period
    └── TrainingDataError    the clean period cannot train a model (too few rows, no signal)
"""

from __future__ import annotations

__all__ = ["AnomalyError", "NotTrainedError", "TrainingDataError"]


class AnomalyError(Exception):
    """Base of every anomaly-detection error."""


class NotTrainedError(AnomalyError):
    """A detector was asked to score before it was trained."""


class TrainingDataError(AnomalyError):
    """The training rows cannot train a model; the message says which and why."""
