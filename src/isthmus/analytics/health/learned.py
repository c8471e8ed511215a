"""Remaining useful life from a model learned on run-to-failure histories
(`isthmus analytics rul --save MODEL`): each closed step of an asset is one cycle whose
sensor levels extend the asset's history; the model predicts the RUL at its last cycle.

A model file is a pickle: load only files you trained yourself (unpickling runs code)."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from isthmus.analytics.rul import RulModel, RunHistories
from isthmus.analytics.rul.cmapss import SETTINGS

__all__ = ["MAX_CYCLES", "LearnedLife", "load_rul_model", "save_rul_model"]

_FORMAT = "isthmus-rul-model"
_VERSION = 1
#: cycles kept per asset; beyond, the oldest after the early-life baseline are dropped
MAX_CYCLES = 1000
_BASELINE = 20  # the features' early-life baseline uses the first 20 cycles


def save_rul_model(model: RulModel, path: Path) -> None:
    with path.open("wb") as out:
        pickle.dump({"format": _FORMAT, "version": _VERSION, "model": model}, out)


def load_rul_model(path: Path) -> RulModel:
    try:
        with path.open("rb") as source:
            content: Any = pickle.load(source)  # only files the user trained: see above
    except OSError as exc:
        raise ValueError(f"{path}: cannot read the RUL model: {exc.strerror or exc}") from exc
    except (pickle.UnpicklingError, EOFError, AttributeError, ImportError) as exc:
        raise ValueError(f"{path}: not a RUL model file ({exc})") from exc
    if not (isinstance(content, dict) and content.get("format") == _FORMAT
            and isinstance(content.get("model"), RulModel)):
        raise ValueError(f"{path}: not a RUL model file; write one with `isthmus analytics "
                         f"rul --save {path.name}`")
    if content.get("version") != _VERSION:
        raise ValueError(f"{path}: RUL model format version {content.get('version')}, this "
                         f"Isthmus reads version {_VERSION}")
    model: RulModel = content["model"]
    return model


class LearnedLife:
    """One asset's cycle history and the model's RUL at its last cycle, in hours."""

    def __init__(self, model: RulModel, *, sensors: int, cycle_hours: float) -> None:
        if sensors != model.normaliser.sensors:
            raise ValueError(f"learned RUL model: trained on {model.normaliser.sensors} sensor "
                             f"columns, the site file maps {sensors}")
        self.model = model
        self.cycle_hours = cycle_hours
        self._rows: list[npt.NDArray[np.float64]] = []
        self._cycles: list[int] = []
        self._next_cycle = 1

    def __len__(self) -> int:
        return len(self._rows)

    def add_cycle(self, levels: npt.NDArray[np.float64]) -> tuple[float, float, float]:
        """Append one cycle (sensor levels in the model's column order); return the RUL,
        low and high, in hours."""
        self._rows.append(levels.copy())
        self._cycles.append(self._next_cycle)
        self._next_cycle += 1
        if len(self._rows) > MAX_CYCLES:
            del self._rows[_BASELINE], self._cycles[_BASELINE]
        rows = np.vstack(self._rows)
        runs = RunHistories(unit=np.ones(rows.shape[0], dtype=np.int64),
                            cycle=np.array(self._cycles, dtype=np.int64),
                            settings=np.zeros((rows.shape[0], SETTINGS)), sensors=rows)
        estimate = self.model.predict_last(runs)
        return tuple(float(v[0]) * self.cycle_hours  # type: ignore[return-value]
                     for v in (estimate.rul, estimate.low, estimate.high))
