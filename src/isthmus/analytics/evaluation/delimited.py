"""Read a delimited time-series file (e.g. a SKAB experiment) into signal columns, times and
optional labels. Cells that are not numbers become NaN; the detector copes with those."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from isthmus.analytics.evaluation.errors import DataFileError

__all__ = ["LabelledSeries", "read_delimited"]


@dataclass(frozen=True, slots=True)
class LabelledSeries:
    path: Path
    times: list[str]
    columns: list[str]
    values: npt.NDArray[np.float64]  # rows × columns
    labels: npt.NDArray[np.bool_] | None  # None when the file has no label column


def _number(cell: str) -> float:
    try:
        return float(cell)
    except ValueError:
        return float("nan")


def read_delimited(path: Path, *, sep: str = ";", time_col: str | None = "datetime",
                   label_col: str | None = "anomaly",
                   ignore_cols: tuple[str, ...] = ()) -> LabelledSeries:
    """Every column except time, label and ignored ones is a signal."""
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.reader(handle, delimiter=sep))
    except OSError as exc:
        raise DataFileError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    if len(rows) < 2:
        raise DataFileError(f"{path}: needs a header line and at least one data line")
    header = [name.strip() for name in rows[0]]
    if time_col is not None and time_col not in header:
        raise DataFileError(f"{path}:1: no time column {time_col!r} (columns: "
                            f"{', '.join(header)}); pass --time-col")
    skip = {time_col, label_col, *ignore_cols}
    signal_at = [i for i, name in enumerate(header) if name not in skip]
    if not signal_at:
        raise DataFileError(f"{path}:1: no signal columns left after time/label/ignored ones")
    body = rows[1:]
    for number, row in enumerate(body, start=2):
        if len(row) != len(header):
            raise DataFileError(f"{path}:{number}: {len(row)} fields, header has "
                                f"{len(header)} (is the separator {sep!r} right?)")
    values = np.array([[_number(row[i]) for i in signal_at] for row in body], dtype=np.float64)
    times = ([row[header.index(time_col)] for row in body] if time_col is not None
             else [str(i) for i in range(len(body))])
    labels = None
    if label_col is not None and label_col in header:
        raw = np.array([_number(row[header.index(label_col)]) for row in body])
        labels = np.nan_to_num(raw, nan=0.0) >= 0.5
    return LabelledSeries(path=path, times=times, columns=[header[i] for i in signal_at],
                          values=values, labels=labels)
