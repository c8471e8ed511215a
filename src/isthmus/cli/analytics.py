"""`isthmus analytics`: offline evaluation of the analytics on data files, so that claims are
numbers (anomaly detection on SKAB-style CSV, remaining useful life on C-MAPSS)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click
import numpy as np

from isthmus.analytics.evaluation import (
    DataFileError,
    DetectionCounts,
    read_delimited,
    score_series,
    total_counts,
    write_scores,
)
from isthmus.analytics.rul import (
    HoldoutPlan,
    RulError,
    RulModel,
    RulSettings,
    phm08_score,
    read_histories,
    read_truth,
    rmse,
    run_fold,
)
from isthmus.cli.options import FILE_PATH

__all__ = ["analytics_group"]


@click.group("analytics")
def analytics_group() -> None:
    """Evaluate the analytics offline on labelled data files."""


def _print_counts(counts: DetectionCounts, files: int) -> None:
    click.echo(f"files with labels: {files}   rows: {counts.tp + counts.tn + counts.fp + counts.fn}"
               f"   TP {counts.tp}  FP {counts.fp}  TN {counts.tn}  FN {counts.fn}")
    click.echo(f"precision {counts.precision:.3f}   recall {counts.recall:.3f}   "
               f"F1 {counts.f1:.3f}   FAR {100 * counts.false_alarm_rate:.2f} %   "
               f"MAR {100 * counts.missed_alarm_rate:.2f} %")


@analytics_group.command("anomaly")
@click.argument("files", nargs=-1, required=True,
                type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--sep", default=";", show_default=True, help="Field separator.")
@click.option("--time-col", default="datetime", show_default=True,
              help="Time column (copied to the output, not a signal); '' for none.")
@click.option("--train-rows", default=400, show_default=True, type=click.IntRange(min=20),
              help="The first N rows of each file are the clean training period.")
@click.option("--label-col", default="anomaly", show_default=True,
              help="0/1 label column, used only for the metrics; files without it are scored.")
@click.option("--ignore-cols", default="changepoint", show_default=True,
              help="Comma-separated columns that are neither signals nor labels.")
@click.option("--out", "out_path", type=FILE_PATH,
              help="Write per-row scores (file, time, score, threshold, predicted, label).")
def anomaly_command(files: tuple[Path, ...], sep: str, time_col: str, train_rows: int,
                    label_col: str, ignore_cols: str, out_path: Path | None) -> None:
    """Fit the multivariate detector on the first rows of each FILE, score every row, and
    print precision, recall, F1, FAR and MAR over all labelled files together (SKAB)."""
    ignored = tuple(name.strip() for name in ignore_cols.split(",") if name.strip())
    try:
        results = [score_series(read_delimited(path, sep=sep, time_col=time_col or None,
                                               label_col=label_col or None,
                                               ignore_cols=ignored),
                                train_rows=train_rows)
                   for path in files]
    except DataFileError as exc:
        raise click.ClickException(str(exc)) from exc
    if out_path is not None:
        with out_path.open("w", encoding="utf-8") as out:
            write_scores(results, out)
        click.echo(f"scores: {out_path}", err=True)
    counts = total_counts(results)
    if counts is None:
        click.echo(f"{len(results)} files scored; none has a {label_col!r} column, so no "
                   "metrics", err=True)
        if out_path is None:
            write_scores(results, sys.stdout)
        return
    _print_counts(counts, sum(1 for r in results if r.counts is not None))


def _rul_settings(cap: float, seed: int, iterations: int) -> RulSettings:
    return RulSettings(cap=cap, seed=seed, iterations=iterations)


iterations_option = click.option(
    "--iterations", default=RulSettings().iterations, show_default=True,
    type=click.IntRange(min=1), help="Boosting iterations of each model.")


@analytics_group.command("rul")
@click.option("--train", "train_path", required=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Run-to-failure histories (C-MAPSS train_FD00x.txt format).")
@click.option("--test", "test_path", required=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Truncated histories to predict (test_FD00x.txt format).")
@click.option("--truth", "truth_path", required=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="True RUL per test unit, one per line in unit order (RUL_FD00x.txt).")
@click.option("--cap", default=125.0, show_default=True, type=click.FloatRange(min=1.0),
              help="Training targets above this many cycles are clipped to it.")
@click.option("--seed", default=0, show_default=True, help="Random seed of the model.")
@click.option("--out", "out_path", type=FILE_PATH,
              help="Write unit, predicted RUL, interval low/high and true RUL as CSV.")
@iterations_option
@click.option("--save", "save_path", type=FILE_PATH,
              help="Also write the trained model, for `health:` assets with `model: learned`.")
def rul_command(train_path: Path, test_path: Path, truth_path: Path, cap: float, seed: int,
                out_path: Path | None, iterations: int, save_path: Path | None) -> None:
    """Train on run-to-failure histories, predict the RUL at the last cycle of each test
    unit, and print RMSE, the PHM08 score and the training / prediction times."""
    try:
        train = read_histories(train_path)
        test = read_histories(test_path)
        truth = read_truth(truth_path, units=test.units.size)
        started = time.perf_counter()
        model = RulModel.fit(train, settings=_rul_settings(cap, seed, iterations))
        trained = time.perf_counter()
        estimate = model.predict_last(test)
        predicted = time.perf_counter()
    except RulError as exc:
        raise click.ClickException(str(exc)) from exc
    if save_path is not None:
        from isthmus.analytics.health.learned import save_rul_model
        save_rul_model(model, save_path)
    if out_path is not None:
        with out_path.open("w", encoding="utf-8") as out:
            out.write("unit,rul,low,high,truth\n")
            for row in zip(estimate.units, estimate.rul, estimate.low, estimate.high, truth,
                           strict=True):
                out.write(f"{row[0]},{row[1]:.2f},{row[2]:.2f},{row[3]:.2f},{row[4]:g}\n")
    inside = float(np.mean((truth >= estimate.low) & (truth <= estimate.high)))
    click.echo(f"train units {train.units.size}   test units {test.units.size}   "
               f"conditions {model.normaliser.conditions.count}   "
               f"sensors kept {model.normaliser.kept.size}")
    click.echo(f"RMSE {rmse(estimate.rul, truth):.2f}   PHM08 score "
               f"{phm08_score(estimate.rul, truth):.1f}   80 % interval coverage "
               f"{100 * inside:.0f} %")
    click.echo(f"train {trained - started:.1f} s   predict "
               f"{1000 * (predicted - trained) / test.units.size:.3f} ms/unit")


@analytics_group.command("rul-cv")
@click.option("--train", "train_path", required=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Run-to-failure histories (C-MAPSS train_FD00x.txt format).")
@click.option("--holdout-units", default=20, show_default=True, type=click.IntRange(min=1),
              help="Whole units held out per fold.")
@click.option("--folds", default=5, show_default=True, type=click.IntRange(min=1))
@click.option("--seed", default=0, show_default=True,
              help="Seed of the first fold (fold k uses seed + k).")
@click.option("--cap", default=125.0, show_default=True, type=click.FloatRange(min=1.0))
@iterations_option
def rul_cv_command(train_path: Path, holdout_units: int, folds: int, seed: int,
                   cap: float, iterations: int) -> None:
    """Hold out whole units, cut each at a random cycle (true RUL uniform in 1–145, at least
    31 cycles kept, like the official test sets), train on the rest and report per fold."""
    try:
        runs = read_histories(train_path)
        plan = HoldoutPlan(held_out=holdout_units)
        click.echo("fold  seed  units   RMSE  RMSE_capped   PHM08  coverage  train_s  "
                   "predict_ms/unit")
        results = []
        for k in range(folds):
            result = run_fold(runs, seed=seed + k, plan=plan,
                              settings=_rul_settings(cap, seed + k, iterations))
            results.append(result)
            click.echo(f"{k:>4}  {result.seed:>4}  {result.units:>5}  {result.rmse:>5.2f}  "
                       f"{result.rmse_capped:>11.2f}  "
                       f"{result.score:>6.1f}  {100 * result.coverage:>7.0f}%  "
                       f"{result.train_seconds:>7.1f}  {result.predict_ms_per_unit:>15.3f}")
    except RulError as exc:
        raise click.ClickException(str(exc)) from exc
    errors = np.array([r.rmse for r in results])
    capped = np.array([r.rmse_capped for r in results])
    click.echo(f"RMSE over {folds} folds: mean {errors.mean():.2f}, min {errors.min():.2f}, "
               f"max {errors.max():.2f}; against the truth capped at {cap:g}: mean "
               f"{capped.mean():.2f}")
