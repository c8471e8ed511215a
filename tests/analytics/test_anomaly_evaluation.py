"""`isthmus analytics anomaly`: reading delimited files, per-file training, pooled metrics."""

from __future__ import annotations

import csv
import tempfile
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from isthmus.analytics.evaluation import DataFileError, DetectionCounts, read_delimited
from isthmus.cli import main
from tests.analytics.shared_data import SHARED_DATA

SKAB = SHARED_DATA / "skab"
needs_skab = pytest.mark.skipif(not SKAB.is_dir(), reason="SKAB data not present")


def _synthetic(path: Path, *, rows: int = 300, fault: tuple[int, int] = (200, 260),
               labels: bool = True, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    base = rng.normal(size=rows)
    with path.open("w", newline="") as out:
        writer = csv.writer(out, delimiter=";")
        writer.writerow(["datetime", "a", "b", "flat", *(["anomaly"] if labels else [])])
        for i in range(rows):
            broken = fault[0] <= i < fault[1]
            b = (-base[i] if broken else base[i]) + 0.05 * rng.normal()
            writer.writerow([f"t{i}", f"{base[i]:.5f}", f"{b:.5f}", "3.0",
                             *([int(broken)] if labels else [])])
    return path


def test_reader_splits_signals_time_and_labels(tmp_path: Path) -> None:
    series = read_delimited(_synthetic(tmp_path / "x.csv"))
    assert series.columns == ["a", "b", "flat"]
    assert series.times[:2] == ["t0", "t1"]
    assert series.labels is not None and int(series.labels.sum()) == 60


def test_reader_without_a_label_column_gives_no_labels(tmp_path: Path) -> None:
    series = read_delimited(_synthetic(tmp_path / "x.csv", labels=False))
    assert series.labels is None


def test_reader_names_the_line_of_a_short_row(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("datetime;a;b\nt0;1;2\nt1;3\n")
    with pytest.raises(DataFileError, match=r"bad\.csv:3: 2 fields, header has 3"):
        read_delimited(path)


def test_reader_names_a_missing_time_column(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("time,a\n0,1\n")
    with pytest.raises(DataFileError, match=r"no time column 'datetime'"):
        read_delimited(path, sep=",")


def test_command_prints_metrics_that_match_its_scores_file(tmp_path: Path) -> None:
    files = [_synthetic(tmp_path / f"{k}.csv", seed=k) for k in range(2)]
    out = tmp_path / "scores.csv"
    result = CliRunner().invoke(main, ["analytics", "anomaly", *map(str, files),
                                       "--train-rows", "150", "--out", str(out)])
    assert result.exit_code == 0, result.output
    with out.open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 600
    truth = np.array([r["label"] == "1" for r in rows])
    predicted = np.array([r["predicted"] == "1" for r in rows])
    counts = DetectionCounts.of(truth, predicted)
    assert f"F1 {counts.f1:.3f}" in result.output
    assert f"FAR {100 * counts.false_alarm_rate:.2f} %" in result.output
    assert counts.recall > 0.8  # the inverted signal is plain to see


def test_command_scores_files_without_labels(tmp_path: Path) -> None:
    path = _synthetic(tmp_path / "x.csv", labels=False)
    result = CliRunner().invoke(main, ["analytics", "anomaly", str(path), "--train-rows",
                                       "150"])
    assert result.exit_code == 0, result.output
    assert "no metrics" in result.output
    assert result.output.count("\n") > 300  # the scores themselves, on stdout


def test_command_refuses_a_file_shorter_than_its_training_period(tmp_path: Path) -> None:
    path = _synthetic(tmp_path / "x.csv", rows=100, fault=(80, 90))
    result = CliRunner().invoke(main, ["analytics", "anomaly", str(path)])
    assert result.exit_code != 0
    assert "100 rows, not more than the 400 training rows" in result.output


@needs_skab
def test_command_runs_on_two_skab_files(tmp_path: Path) -> None:
    files = [SKAB / "valve1" / "0.csv", SKAB / "valve2" / "0.csv"]
    result = CliRunner().invoke(main, ["analytics", "anomaly", *map(str, files)])
    assert result.exit_code == 0, result.output
    assert "files with labels: 2" in result.output
    assert "F1 " in result.output and "MAR " in result.output


@settings(max_examples=40, deadline=None)
@given(hnp.arrays(np.float64, st.tuples(st.integers(1, 20), st.integers(1, 4)),
                  elements=st.floats(allow_nan=True, allow_infinity=False, width=64)),
       st.sampled_from([";", ",", "\t"]))
def test_reader_round_trips_any_table(values: np.ndarray, sep: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "x.csv"
        names = [f"s{j}" for j in range(values.shape[1])]
        lines = [sep.join(["datetime", *names, "anomaly"])]
        lines += [sep.join([f"t{i}", *(repr(float(v)) for v in row), str(i % 2)])
                  for i, row in enumerate(values)]
        path.write_text("\n".join(lines) + "\n")
        series = read_delimited(path, sep=sep)
    np.testing.assert_array_equal(series.values, values)
    assert series.columns == names
    assert series.labels is not None
    assert series.labels.tolist() == [i % 2 == 1 for i in range(values.shape[0])]
