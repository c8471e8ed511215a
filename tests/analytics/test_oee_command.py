"""`isthmus oee`, `energy` and `spc` over a real SQLite historian holding scripted history."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from click.testing import CliRunner

from isthmus.cli import main
from isthmus.historian import open_historian
from tests.analytics.efficiency_site import BASE, PREFIX, batch, site_with
from tests.analytics.test_energy import READINGS
from tests.analytics.test_oee import LINE, SCENARIO, SHIFTS

WINDOW = ["--from", "2023-11-15T00:00:00Z", "--to", "2023-11-15T09:00:00Z"]


def stored(tmp_path: Path, rows: list[tuple[str, float, float]], **sections: Any) -> list[str]:
    """Write the site file and the history; the common command-line arguments."""
    site = site_with(**sections)
    (tmp_path / "site.yaml").write_text(yaml.safe_dump({**BASE, **sections}))
    historian = open_historian(f"sqlite:///{tmp_path / 'historian.db'}")
    registry = historian.register_tags(site.tags())
    historian.write(batch(registry, rows))
    historian.close()
    return ["-c", str(tmp_path / "site.yaml"), "--data", str(tmp_path), *WINDOW, "--json"]


def test_oee_report_per_shift(tmp_path: Path) -> None:
    args = stored(tmp_path, SCENARIO, shifts=SHIFTS, oee={"lines": [LINE]})
    result = CliRunner().invoke(main, ["oee", *args])
    assert result.exit_code == 0, result.output
    first, *_ = json.loads(result.output)
    assert first["line"] == "packaging/line1" and first["period"] == "2023-11-15 a"
    assert (first["pbt_min"], first["apt_min"], first["failures"]) == (450.0, 420.0, 2)
    assert first["oee"] == round(20000 / 27000, 4)
    assert first["mttr_min"] == 15.0
    assert first["downtime_by_reason"] == "changeover 20.0 min; jam 10.0 min"


def test_energy_report_per_day(tmp_path: Path) -> None:
    meter = {"name": "packaging/line1", "kwh": READINGS[0][0], "production": [READINGS[1][0]],
             "baseline": {"start": "2023-11-15T00:00:00Z", "end": "2023-11-15T00:45:00Z"}}
    args = stored(tmp_path, READINGS, energy={"meters": [meter]})
    result = CliRunner().invoke(main, ["energy", *args])
    assert result.exit_code == 0, result.output
    (day,) = json.loads(result.output)
    assert (day["kwh"], day["units"], day["peak_kw"], day["enpi"]) == (85.0, 400, 120.0, 1.25)


def test_spc_report_per_shift(tmp_path: Path) -> None:
    weight = f"{PREFIX}/fill_weight"
    rows = [(weight, i, v) for i, v in enumerate([498, 502, 500, 504, 496])]
    chart = {"tag": weight, "chart": "i_mr", "baseline_subgroups": 2}
    args = stored(tmp_path, rows, shifts=SHIFTS, spc={"charts": [chart]})
    result = CliRunner().invoke(main, ["spc", *args])
    assert result.exit_code == 0, result.output
    (shift,) = json.loads(result.output)
    assert (shift["shift"], shift["n"], shift["mean"]) == ("2023-11-15 a", 5, 500.0)
    assert shift["cp"] == round(20 / (6 * 4.5 / 1.128), 4)


def test_a_site_without_an_oee_section_is_a_clear_error(tmp_path: Path) -> None:
    args = stored(tmp_path, SCENARIO)
    result = CliRunner().invoke(main, ["oee", *args])
    assert result.exit_code != 0
    assert "no `oee: lines:` section" in result.output
