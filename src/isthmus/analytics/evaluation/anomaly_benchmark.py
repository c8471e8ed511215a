"""Offline anomaly evaluation: per file, train on the first rows, score every row, and count
detections against the labels where a file has them (the SKAB protocol)."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TextIO

import numpy as np
import numpy.typing as npt

from isthmus.analytics.anomaly.errors import TrainingDataError
from isthmus.analytics.anomaly.multivariate import DetectorSettings, MultivariateDetector
from isthmus.analytics.evaluation.binary_metrics import DetectionCounts
from isthmus.analytics.evaluation.delimited import LabelledSeries
from isthmus.analytics.evaluation.errors import DataFileError

__all__ = ["FileScores", "score_series", "total_counts", "write_scores"]

SCORE_COLUMNS = ("file", "time", "score", "threshold", "predicted", "label")


@dataclass(frozen=True, slots=True)
class FileScores:
    series: LabelledSeries
    scores: npt.NDArray[np.float64]
    threshold: float

    @property
    def predicted(self) -> npt.NDArray[np.bool_]:
        result: npt.NDArray[np.bool_] = self.scores > self.threshold
        return result

    @property
    def counts(self) -> DetectionCounts | None:
        if self.series.labels is None:
            return None
        return DetectionCounts.of(self.series.labels, self.predicted)


def score_series(series: LabelledSeries, *, train_rows: int,
                 settings: DetectorSettings | None = None) -> FileScores:
    """Fit on the first `train_rows` rows of this file and score all of its rows."""
    if series.values.shape[0] <= train_rows:
        raise DataFileError(f"{series.path}: {series.values.shape[0]} rows, not more than the "
                            f"{train_rows} training rows (--train-rows)")
    try:
        detector = MultivariateDetector.fit(series.values[:train_rows], settings=settings)
    except TrainingDataError as exc:
        raise DataFileError(f"{series.path}: {exc}") from exc
    return FileScores(series=series, scores=detector.scores(series.values),
                      threshold=detector.threshold)


def total_counts(results: Iterable[FileScores]) -> DetectionCounts | None:
    """Counts over all labelled files together; None when no file had labels."""
    total: DetectionCounts | None = None
    for result in results:
        counts = result.counts
        if counts is not None:
            total = counts if total is None else total + counts
    return total


def write_scores(results: Iterable[FileScores], out: TextIO) -> None:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(SCORE_COLUMNS)
    for result in results:
        labels = result.series.labels
        name = str(result.series.path)
        for i, (time, score) in enumerate(zip(result.series.times, result.scores, strict=True)):
            label = "" if labels is None else int(labels[i])
            writer.writerow([name, time, f"{score:.6g}", f"{result.threshold:.6g}",
                             int(score > result.threshold), label])
