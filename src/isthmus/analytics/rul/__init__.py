"""Remaining useful life from run-to-failure histories (C-MAPSS format): per-condition sensor
normalisation, history features, gradient-boosted trees with an interval, and the
hold-out-engines validation."""

from isthmus.analytics.rul.cmapss import RunHistories, read_histories, read_truth
from isthmus.analytics.rul.errors import RulError, RulModelError, RunDataError
from isthmus.analytics.rul.holdout import FoldResult, HoldoutPlan, run_fold, truncate
from isthmus.analytics.rul.metrics import phm08_score, rmse
from isthmus.analytics.rul.model import RulEstimate, RulModel, RulSettings

__all__ = [
    "FoldResult",
    "HoldoutPlan",
    "RulError",
    "RulEstimate",
    "RulModel",
    "RulModelError",
    "RulSettings",
    "RunDataError",
    "RunHistories",
    "phm08_score",
    "read_histories",
    "read_truth",
    "rmse",
    "run_fold",
    "truncate",
]
