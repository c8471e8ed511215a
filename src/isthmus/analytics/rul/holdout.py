"""Validation on unseen engines when only run-to-failure data exists: hold out whole units,
cut each held-out history at a random cycle as the official C-MAPSS test sets do, and
compare the predicted RUL at the cut with the cycles that really remained."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from isthmus.analytics.rul.cmapss import RunHistories
from isthmus.analytics.rul.errors import RulModelError
from isthmus.analytics.rul.metrics import phm08_score, rmse
from isthmus.analytics.rul.model import RulEstimate, RulModel, RulSettings

__all__ = ["FoldResult", "HoldoutPlan", "run_fold", "truncate"]


@dataclass(frozen=True, slots=True)
class HoldoutPlan:
    held_out: int = 20  # units per fold
    min_history: int = 31  # cycles every truncated history keeps (FD001 test minimum)
    max_rul: int = 145  # largest true RUL drawn (the FD001 test truth's maximum)


@dataclass(frozen=True, slots=True)
class FoldResult:
    seed: int
    units: int
    rmse: float
    rmse_capped: float  # against min(true RUL, cap), as some publications report
    score: float
    coverage: float  # share of true RULs inside the interval
    train_seconds: float
    predict_ms_per_unit: float


def truncate(runs: RunHistories, rng: np.random.Generator, plan: HoldoutPlan
             ) -> tuple[RunHistories, np.ndarray]:
    """Cut every unit so its true RUL is uniform in 1..max_rul while keeping ≥ min_history
    cycles; return the truncated histories and the true RULs in unit order."""
    keep = np.zeros(runs.unit.size, dtype=bool)
    truth = []
    for begin, end in zip(runs.starts[:-1], runs.starts[1:], strict=True):
        life = int(end - begin)
        longest = max(1, min(plan.max_rul, life - plan.min_history))
        remaining = int(rng.integers(1, longest + 1))
        keep[begin:end - remaining] = True
        truth.append(float(remaining))
    return runs.rows(keep), np.array(truth)


def run_fold(runs: RunHistories, *, seed: int, plan: HoldoutPlan,
             settings: RulSettings) -> FoldResult:
    rng = np.random.default_rng(seed)
    units = runs.units
    if plan.held_out >= units.size:
        raise RulModelError(f"rul holdout: {plan.held_out} held-out units leave none of the "
                            f"{units.size} to train on")
    test_units = rng.choice(units, size=plan.held_out, replace=False)
    is_test = np.isin(runs.unit, test_units)
    started = time.perf_counter()
    model = RulModel.fit(runs.rows(~is_test), settings=settings)
    trained = time.perf_counter()
    cut, truth = truncate(runs.rows(is_test), rng, plan)
    estimate = model.predict_last(cut)
    predicted = time.perf_counter()
    return FoldResult(seed=seed, units=plan.held_out, rmse=rmse(estimate.rul, truth),
                      rmse_capped=rmse(estimate.rul, np.minimum(truth, settings.cap)),
                      score=phm08_score(estimate.rul, truth),
                      coverage=_coverage(estimate, truth),
                      train_seconds=trained - started,
                      predict_ms_per_unit=1000 * (predicted - trained) / plan.held_out)


def _coverage(estimate: RulEstimate, truth: np.ndarray) -> float:
    inside = (truth >= estimate.low) & (truth <= estimate.high)
    return float(np.mean(inside))
