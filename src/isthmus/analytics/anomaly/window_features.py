"""Trailing-window features of a scaled multivariate series: level, rolling mean, rolling
standard deviation and absolute first difference of every column. Every feature of row i
uses rows ≤ i only, so the offline evaluation and the streaming detector agree."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from numpy.lib.stride_tricks import sliding_window_view

__all__ = ["FEATURE_KINDS", "tail_window_features", "window_features"]

Matrix = npt.NDArray[np.float64]

FEATURE_KINDS = ("level", "mean", "std", "diff")


def window_features(rows: Matrix, *, window: int) -> Matrix:
    """rows × (4 · columns): [level | mean | std | |diff|], column blocks in that order.
    The first rows see a shorter window. Computed per window (not from running sums), so a
    flat window has exactly zero spread whatever came before it."""
    if window < 1:
        raise ValueError(f"window features: window must be ≥ 1, got {window}")
    padded = np.vstack([np.full((window - 1, rows.shape[1]), np.nan), rows])
    windows = sliding_window_view(padded, window, axis=0)  # rows × columns × window
    filled = ~np.isnan(windows)
    count = filled.sum(axis=2)
    mean = np.where(filled, windows, 0.0).sum(axis=2) / count
    spread = np.where(filled, windows - mean[:, :, None], 0.0)
    std = np.sqrt((spread ** 2).sum(axis=2) / count)
    diff = np.abs(np.diff(rows, axis=0, prepend=rows[:1]))
    return np.hstack([rows, mean, std, diff])


def tail_window_features(rows: Matrix, *, window: int, tail: int) -> Matrix:
    """`window_features(rows)[-tail:]`, computing only those rows: the streaming detector
    carries `window - 1` rows of context and needs the features of the new rows alone.
    `rows` must be free of NaN (scaled rows are)."""
    if not 0 < tail <= rows.shape[0]:
        raise ValueError(f"window features: tail {tail} not in 1..{rows.shape[0]}")
    if rows.shape[0] < tail + max(window - 1, 1):  # short history: the padded general case
        features: Matrix = window_features(rows, window=window)[-tail:]
        return features
    windows = sliding_window_view(rows[rows.shape[0] - tail - window + 1:], window, axis=0)
    mean = windows.mean(axis=2)
    std = np.sqrt(((windows - mean[:, :, None]) ** 2).mean(axis=2))
    latest = rows[-tail:]
    diff = np.abs(latest - rows[-tail - 1:-1])
    return np.hstack([latest, mean, std, diff])
