"""A learned RUL model in the health engine: trained and saved by `isthmus analytics rul
--save` on generated run-to-failure histories, loaded by a `model: learned` asset, fed one
cycle per closed step."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

from isthmus.analytics.health.learned import load_rul_model
from isthmus.cli import main
from isthmus.model import SampleBatch, TagRegistry
from tests.analytics.test_health_engine import MINUTE, MOTOR, T0, engine_for, site_with

SENSORS = ["bearing_vibration", "bearing_temperature", "current"]


def _levels(cycle: np.ndarray, life: int, rng: np.random.Generator) -> np.ndarray:
    """Sensor levels of a unit that fails after `life` cycles: vibration accelerates,
    temperature climbs, current is noise."""
    wear = cycle / life
    return np.column_stack([1.0 + 8.0 * wear ** 2 + rng.normal(0, 0.05, cycle.size),
                            40.0 + 20.0 * wear + rng.normal(0, 0.3, cycle.size),
                            8.0 + rng.normal(0, 0.1, cycle.size)])


def _write_histories(path: Path, lives: list[int], *, cut: list[int] | None = None,
                     seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    lines = []
    for unit, life in enumerate(lives, start=1):
        cycles = np.arange(1, (cut[unit - 1] if cut else life) + 1)
        sensors = _levels(cycles, life, rng)
        settings = rng.normal(0, 0.001, (cycles.size, 3))
        lines += [" ".join([str(unit), str(c), *(f"{v:.5f}" for v in (*s, *x))])
                  for c, s, x in zip(cycles, settings, sensors, strict=True)]
    path.write_text("\n".join(lines) + "\n")


@pytest.fixture(scope="module")
def model_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("rul")
    lives = [int(v) for v in np.random.default_rng(5).integers(90, 160, 15)]
    _write_histories(folder / "train.txt", lives)
    _write_histories(folder / "test.txt", [120, 140, 100], cut=[60, 90, 40], seed=1)
    (folder / "truth.txt").write_text("60\n50\n60\n")
    result = CliRunner().invoke(main, [
        "analytics", "rul", "--train", str(folder / "train.txt"), "--test",
        str(folder / "test.txt"), "--truth", str(folder / "truth.txt"), "--iterations", "60",
        "--save", str(folder / "model.pkl")])
    assert result.exit_code == 0, result.output
    return folder / "model.pkl"


def _learned_site(model_file: Path, **extra: Any) -> Any:
    return site_with(model="learned", model_file=str(model_file), sensors=SENSORS,
                     horizon="8h", **extra)


def _feed_cycles(registry: TagRegistry, levels: np.ndarray) -> SampleBatch:
    """Cycle k's levels sampled each minute for its 10-minute step."""
    minutes = np.arange(levels.shape[0] * 10)
    ids, ts, values = [], [], []
    for j, name in enumerate(SENSORS):
        ids += [registry.id_of(f"{MOTOR}/{name}")] * minutes.size
        ts += (T0 + minutes * MINUTE).tolist()
        values += levels[minutes // 10, j].tolist()
    order = np.argsort(ts, kind="stable")
    return SampleBatch.of(np.array(ids)[order].tolist(), np.array(ts)[order].tolist(),
                          np.array(values)[order].tolist())


def test_learned_rul_follows_the_unit_toward_failure(model_file: Path) -> None:
    engine, registry = engine_for(_learned_site(model_file))
    life = 130
    levels = _levels(np.arange(1, life + 1), life, np.random.default_rng(9))
    estimates: dict[int, tuple[float, float, float]] = {}
    events = []
    for cycle in range(0, life, 10):  # ten cycles a batch
        events += engine.update(_feed_cycles(registry, levels[:cycle + 10])
                                .take(np.arange((cycle * 10) * 3, (cycle + 10) * 10 * 3)))
        health = engine.status()[0]
        assert health is not None and health.model == "learned"
        assert health.rul is not None
        estimates[cycle + 9] = health.rul
    # the step of cycle n closes when cycle n + 1 starts: the latest cycle seen is cycle + 9
    for cycle in (69, 99, 119):
        truth = (life - cycle) / 6  # hours: 10-minute cycles
        rul, low, high = estimates[cycle]
        print(f"cycle {cycle}: true RUL {truth:.1f} h, learned {rul:.1f} h ({low:.1f}–{high:.1f})")
        assert abs(rul - truth) < max(0.25 * truth, 0.75)
    assert estimates[119][0] < estimates[69][0]
    (event,) = events
    assert event.data["health"]["model"] == "learned" and event.data["health"]["cycles"] > 0


def test_a_model_with_other_sensor_columns_is_refused(model_file: Path) -> None:
    with pytest.raises(ValueError, match="trained on 3 sensor columns, the site file maps 2"):
        engine_for(site_with(model="learned", model_file=str(model_file),
                             sensors=SENSORS[:2]))


def test_a_file_that_is_not_a_model_is_named(tmp_path: Path) -> None:
    (tmp_path / "junk.pkl").write_bytes(b"not a pickle")
    with pytest.raises(ValueError, match=r"junk\.pkl: not a RUL model file"):
        load_rul_model(tmp_path / "junk.pkl")
