"""Remaining useful life: the C-MAPSS reader, the metrics, operating conditions, history
features, and the model and commands on a few FD001 engines."""

from __future__ import annotations

import math
import random
import tempfile
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from isthmus.analytics.rul import (
    HoldoutPlan,
    RulModel,
    RulModelError,
    RulSettings,
    RunDataError,
    RunHistories,
    phm08_score,
    read_histories,
    read_truth,
    rmse,
    truncate,
)
from isthmus.analytics.rul.conditions import OperatingConditions
from isthmus.analytics.rul.features import history_features
from isthmus.analytics.rul.intervals import ResidualBands
from isthmus.cli import main
from tests.analytics.shared_data import SHARED_DATA

FD001 = SHARED_DATA / "cmapss" / "train_FD001.txt"
needs_cmapss = pytest.mark.skipif(not FD001.is_file(), reason="C-MAPSS data not present")


def test_phm08_score_of_a_hand_checked_case() -> None:
    predicted = np.array([10.0, 30.0, 20.0])
    truth = np.array([23.0, 20.0, 20.0])  # d = -13 (early), +10 (late), 0
    assert phm08_score(predicted, truth) == pytest.approx((math.e - 1) + (math.e - 1))
    assert rmse(predicted, truth) == pytest.approx(math.sqrt((169 + 100) / 3))


@given(st.floats(0.1, 50))
def test_late_predictions_cost_more_than_early_ones(error: float) -> None:
    truth = np.array([100.0])
    assert phm08_score(truth + error, truth) > phm08_score(truth - error, truth)


def _runs(lives: list[int], sensors: int = 4, seed: int = 0,
          settings: np.ndarray | None = None) -> RunHistories:
    """Synthetic engines: sensor 0 degrades linearly to failure, sensor 1 is noise, the
    rest are constant."""
    rng = np.random.default_rng(seed)
    unit = np.concatenate([np.full(n, k + 1) for k, n in enumerate(lives)])
    cycle = np.concatenate([np.arange(1, n + 1) for n in lives])
    life = np.concatenate([np.full(n, n) for n in lives])
    values = np.zeros((unit.size, sensors))
    values[:, 0] = 100 + np.maximum(0, 60 - (life - cycle)) * 0.5 + rng.normal(0, 0.3, unit.size)
    values[:, 1] = rng.normal(size=unit.size)
    values[:, 2:] = 7.0
    return RunHistories(unit=unit.astype(np.int64), cycle=cycle.astype(np.int64),
                        settings=settings if settings is not None
                        else rng.normal(0, 1e-3, (unit.size, 3)),
                        sensors=values)


def test_reader_names_the_line_of_a_bad_number(tmp_path: Path) -> None:
    path = tmp_path / "train.txt"
    path.write_text("1 1 0 0 100 5 6\n1 2 0 0 100 five 6\n")
    with pytest.raises(RunDataError, match=r"train\.txt:2: not a number"):
        read_histories(path)


def test_reader_and_remaining_life(tmp_path: Path) -> None:
    path = tmp_path / "train.txt"
    path.write_text("2 1 0 0 100 5 6\n1 2 0 0 100 5 6\n1 1 0 0 100 5 6\n2 2 0 0 100 5 6\n"
                    "2 3 0 0 100 5 6\n")
    runs = read_histories(path)
    assert runs.unit.tolist() == [1, 1, 2, 2, 2]
    assert runs.remaining_life().tolist() == [1, 0, 2, 1, 0]


def test_truth_must_match_the_units(tmp_path: Path) -> None:
    path = tmp_path / "rul.txt"
    path.write_text("10\n20\n")
    with pytest.raises(RunDataError, match="2 true RUL values for 3 test units"):
        read_truth(path, units=3)


def test_one_operating_condition_when_settings_are_noise() -> None:
    settings = np.random.default_rng(1).normal(0, 1e-3, (500, 3))
    assert OperatingConditions.fit(settings).count == 1


def test_six_operating_conditions_are_found_and_assigned() -> None:
    rng = np.random.default_rng(2)
    regimes = np.array([[0, 0, 100], [10, 0.25, 100], [20, 0.7, 100], [25, 0.62, 60],
                        [35, 0.84, 100], [42, 0.84, 100]], dtype=float)
    label = rng.integers(0, 6, 600)
    settings = regimes[label] + rng.normal(0, 1e-3, (600, 3))
    conditions = OperatingConditions.fit(settings)
    assert conditions.count == 6
    assigned = conditions.assign(settings)
    # the same regime always lands in the same cluster, and different ones never share
    assert len({(a, b) for a, b in zip(label, assigned, strict=True)}) == 6


def test_slopes_and_means_stay_inside_each_unit() -> None:
    runs = _runs([40, 40])
    line = np.concatenate([np.arange(40.0), 1000 + 3 * np.arange(40.0)])[:, None]
    features = history_features(line, runs)
    # columns: value, means 5/10/20/30, slopes 10/20/30, ewma 0.1/0.3, the two ewma minus
    # the unit's early baseline, cycle
    assert features.shape[1] == 13
    assert features[39, 5] == pytest.approx(1.0)
    assert features[79, 5] == pytest.approx(3.0)
    assert features[40, 5] == 0.0  # first cycle of unit 2: no slope from unit 1's values
    assert features[41, 1] == pytest.approx(1001.5)
    assert features[40, 10] == 0.0  # unit 2's baseline is its own first value, not unit 1's


def test_baseline_features_remove_a_units_offset() -> None:
    runs = _runs([60, 60])
    wear = np.tile(np.linspace(0.0, 5.0, 60), 2)[:, None]
    offset = np.repeat([0.0, 40.0], 60)[:, None]  # unit 2 reads 40 higher from new
    plain = history_features(wear, runs)
    shifted = history_features(wear + offset, runs)
    np.testing.assert_allclose(shifted[:, 10:12], plain[:, 10:12], atol=1e-9)
    assert not np.allclose(shifted[:, 8], plain[:, 8])


def test_model_learns_a_degradation_and_drops_constant_sensors() -> None:
    runs = _runs([150, 170, 190, 160, 180, 200, 175, 165], seed=3)
    model = RulModel.fit(runs, settings=RulSettings(iterations=60))
    assert model.normaliser.kept.tolist() == [0, 1]
    test = _runs([165, 185], seed=4)  # lives like the training ones: cycle is a feature
    cut, truth = truncate(test, np.random.default_rng(5), HoldoutPlan(held_out=2, max_rul=50))
    estimate = model.predict_last(cut)
    assert rmse(estimate.rul, truth) < 15
    assert np.all(estimate.low <= estimate.rul) and np.all(estimate.rul <= estimate.high)


def test_truncation_keeps_the_minimum_history_and_reports_the_cut() -> None:
    runs = _runs([100, 60])
    cut, truth = truncate(runs, np.random.default_rng(0), HoldoutPlan(min_history=31))
    kept = np.bincount(cut.unit)[1:]
    assert np.all(kept >= 31)
    assert (kept + truth).tolist() == [100, 60]


@needs_cmapss
def test_rul_command_on_a_few_fd001_engines(tmp_path: Path) -> None:
    runs = read_histories(FD001)
    train = runs.rows(runs.unit <= 30)
    held = runs.rows((runs.unit > 30) & (runs.unit <= 40))
    cut, truth = truncate(held, np.random.default_rng(0), HoldoutPlan())
    paths = {name: tmp_path / f"{name}.txt" for name in ("train", "test", "truth")}
    for path, part in ((paths["train"], train), (paths["test"], cut)):
        rows = np.column_stack([part.unit, part.cycle, part.settings, part.sensors])
        np.savetxt(path, rows, fmt="%.6g")
    np.savetxt(paths["truth"], truth, fmt="%d")
    out = tmp_path / "pred.csv"
    result = CliRunner().invoke(main, [
        "analytics", "rul", "--train", str(paths["train"]), "--test", str(paths["test"]),
        "--truth", str(paths["truth"]), "--iterations", "50", "--out", str(out)])
    assert result.exit_code == 0, result.output
    predicted = np.loadtxt(out, delimiter=",", skiprows=1)
    assert predicted.shape == (10, 5)
    assert f"RMSE {rmse(predicted[:, 1], truth):.2f}" in result.output
    assert "conditions 1" in result.output and "ms/unit" in result.output


@needs_cmapss
def test_rul_cv_command_reports_each_fold() -> None:
    result = CliRunner().invoke(main, ["analytics", "rul-cv", "--train", str(FD001),
                                       "--folds", "2", "--holdout-units", "10",
                                       "--iterations", "20"])
    assert result.exit_code == 0, result.output
    assert "RMSE over 2 folds" in result.output


def test_residual_bands_cover_the_asked_share_per_band() -> None:
    rng = np.random.default_rng(6)
    predicted = rng.uniform(0, 125, 4000)
    truth = predicted + rng.normal(0, 1 + predicted / 10)  # errors grow with the RUL
    bands = ResidualBands.fit(predicted, truth, quantiles=(0.1, 0.9))
    low, high = bands.interval(predicted)
    inside = (truth >= low) & (truth <= high)
    assert 0.77 < inside.mean() < 0.83
    assert (high - low)[predicted > 100].mean() > 3 * (high - low)[predicted < 25].mean()


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(1, 6), min_size=1, max_size=5),
       st.integers(1, 4), st.randoms(use_true_random=False))
def test_reader_round_trips_any_history(lives: list[int], sensors: int,
                                        rnd: random.Random) -> None:
    rows = [[unit, cycle, *(rnd.uniform(-50, 50) for _ in range(3 + sensors))]
            for unit, life in enumerate(lives, start=1) for cycle in range(1, life + 1)]
    shuffled = rows[:]
    rnd.shuffle(shuffled)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "train.txt"
        path.write_text("".join(" ".join(repr(v) for v in row) + " \n" for row in shuffled))
        runs = read_histories(path)
    np.testing.assert_array_equal(np.column_stack([runs.unit, runs.cycle, runs.settings,
                                                   runs.sensors]), np.array(rows, dtype=float))


def test_prediction_refuses_histories_with_other_sensors() -> None:
    model = RulModel.fit(_runs([80, 90, 100, 85, 95], seed=9), settings=RulSettings(iterations=5))
    with pytest.raises(RulModelError, match="have 5 sensor columns, the model was trained on 4"):
        model.predict_last(_runs([60], sensors=5))
