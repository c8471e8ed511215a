"""`isthmus health` over a real SQLite historian holding a scripted bearing history."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from isthmus.cli import main
from isthmus.config import load_site
from isthmus.historian import open_historian
from isthmus.model import SampleBatch

EXAMPLE = Path(__file__).parents[2] / "examples" / "packaging-plant.yaml"
MOTOR = "acme/lyon/packaging/line1/conveyor/motor"
S = 1_000_000_000
T0 = 1_700_006_400 * S  # 2023-11-15T00:00:00Z
WINDOW = ["--from", "2023-11-15T00:00:00Z", "--to", "2023-11-15T09:00:00Z"]


def store(tmp_path: Path, *, hours: int) -> None:
    """One vibration sample a minute rising 1 mm/s per hour from 1.5, the motor running."""
    historian = open_historian(f"sqlite:///{tmp_path / 'historian.db'}")
    registry = historian.register_tags(load_site(EXAMPLE).tags())
    minutes = np.arange(60 * hours)
    vibration, running = (registry.id_of(f"{MOTOR}/{s}") for s in ("bearing_vibration",
                                                                    "running"))
    historian.write(SampleBatch.of([running], [T0], [1.0]))
    historian.write(SampleBatch.of([vibration] * minutes.size, T0 + minutes * 60 * S,
                                   (1.5 + minutes / 60).tolist()))
    historian.close()


def test_fleet_shows_health_rul_and_trend(tmp_path: Path) -> None:
    store(tmp_path, hours=8)
    result = CliRunner().invoke(main, ["health", "-c", str(EXAMPLE), "--data", str(tmp_path),
                                       *WINDOW, "--json"])
    assert result.exit_code == 0, result.output
    (row,) = json.loads(result.output)
    assert row["asset"] == MOTOR and row["worst_signal"] == "bearing_vibration"
    assert row["trend"] == "linear" and row["slope_per_h"] == pytest.approx(1.0, rel=0.02)
    # the last closed step ends at 7 h 50 min, level ≈ 9.3: 11 mm/s about 1.7 h later
    assert row["rul_h"] == pytest.approx(1.7, abs=0.2)
    assert row["rul_low_h"] <= row["rul_h"] <= row["rul_high_h"]
    assert 0 < row["health"] < 30 and row["threshold"] == 11.0
    assert row["last_update"] == "2023-11-15T07:50:00.000Z"


def test_an_asset_without_history_is_listed_empty(tmp_path: Path) -> None:
    store(tmp_path, hours=0)
    result = CliRunner().invoke(main, ["health", "-c", str(EXAMPLE), "--data", str(tmp_path),
                                       *WINDOW, "--csv"])
    assert result.exit_code == 0, result.output
    header, line = result.output.strip().splitlines()
    assert header.startswith("asset,health,rul_h") and line.startswith(f"{MOTOR},,")


def test_a_site_without_health_section_is_refused(tmp_path: Path) -> None:
    store(tmp_path, hours=1)
    data = yaml.safe_load(EXAMPLE.read_text())
    del data["health"]
    (tmp_path / "site.yaml").write_text(yaml.safe_dump(data))
    result = CliRunner().invoke(main, ["health", "-c", str(tmp_path / "site.yaml"),
                                       "--data", str(tmp_path), *WINDOW])
    assert result.exit_code != 0 and "no `health: assets:` section" in result.output
