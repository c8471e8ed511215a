"""Run histories in the NASA C-MAPSS text format: whitespace separated unit, cycle, three
operational settings and 21 (or any number of) sensors per line, units in ascending order."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from isthmus.analytics.rul.errors import RunDataError

__all__ = ["RunHistories", "read_histories", "read_truth"]

SETTINGS = 3


@dataclass(frozen=True, slots=True)
class RunHistories:
    """Rows sorted by (unit, cycle); `starts[k]:starts[k+1]` are the rows of `units[k]`."""

    unit: npt.NDArray[np.int64]
    cycle: npt.NDArray[np.int64]
    settings: npt.NDArray[np.float64]  # rows × 3
    sensors: npt.NDArray[np.float64]  # rows × sensors

    @property
    def units(self) -> npt.NDArray[np.int64]:
        result: npt.NDArray[np.int64] = np.unique(self.unit)
        return result

    @property
    def starts(self) -> npt.NDArray[np.int64]:
        edges = np.flatnonzero(np.diff(self.unit)) + 1
        return np.concatenate([[0], edges, [self.unit.size]]).astype(np.int64)

    def rows(self, mask: npt.NDArray[np.bool_]) -> RunHistories:
        return RunHistories(unit=self.unit[mask], cycle=self.cycle[mask],
                            settings=self.settings[mask], sensors=self.sensors[mask])

    def remaining_life(self) -> npt.NDArray[np.float64]:
        """RUL of every row of a run-to-failure history: last cycle of its unit − cycle."""
        starts = self.starts
        last = np.repeat(self.cycle[starts[1:] - 1], np.diff(starts))
        result: npt.NDArray[np.float64] = (last - self.cycle).astype(np.float64)
        return result


def read_histories(path: Path) -> RunHistories:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise RunDataError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    table: list[list[float]] = []
    width = 0
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            fields = [float(field) for field in line.split()]
        except ValueError as exc:
            raise RunDataError(f"{path}:{number}: not a number: {exc}") from exc
        width = width or len(fields)
        if len(fields) != width or width < 2 + SETTINGS + 1:
            raise RunDataError(f"{path}:{number}: {len(fields)} fields, expected {width} "
                               "(unit, cycle, 3 settings, sensors…)")
        table.append(fields)
    if not table:
        raise RunDataError(f"{path}: no data lines")
    data = np.array(table)
    order = np.lexsort((data[:, 1], data[:, 0]))
    data = data[order]
    return RunHistories(unit=data[:, 0].astype(np.int64), cycle=data[:, 1].astype(np.int64),
                        settings=data[:, 2:2 + SETTINGS].copy(),
                        sensors=data[:, 2 + SETTINGS:].copy())


def read_truth(path: Path, *, units: int) -> npt.NDArray[np.float64]:
    """One true RUL per line, in unit order."""
    try:
        fields = path.read_text(encoding="utf-8").split()
        truth = np.array([float(field) for field in fields])
    except (OSError, ValueError) as exc:
        raise RunDataError(f"{path}: cannot read the true RUL values: {exc}") from exc
    if truth.size != units:
        raise RunDataError(f"{path}: {truth.size} true RUL values for {units} test units")
    return truth
