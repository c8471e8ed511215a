"""Offline evaluation of the analytics on public data sets, so that claims are numbers:
anomaly detection scored as the SKAB benchmark does, RUL as the C-MAPSS protocol does."""

from isthmus.analytics.evaluation.anomaly_benchmark import (
    FileScores,
    score_series,
    total_counts,
    write_scores,
)
from isthmus.analytics.evaluation.binary_metrics import DetectionCounts
from isthmus.analytics.evaluation.delimited import LabelledSeries, read_delimited
from isthmus.analytics.evaluation.errors import DataFileError, EvaluationError

__all__ = [
    "DataFileError",
    "DetectionCounts",
    "EvaluationError",
    "FileScores",
    "LabelledSeries",
    "read_delimited",
    "score_series",
    "total_counts",
    "write_scores",
]
