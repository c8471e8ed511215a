"""The streaming anomaly engine: rows from batches, the three scorers, events that name their
signals, and detection on simulator scenarios with a known fault time."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pydantic import ValidationError

from isthmus.analytics import StreamingDetector
from isthmus.analytics.anomaly import MultivariateDetector
from isthmus.analytics.anomaly.engine import AnomalyEngine, anomaly_derived_tags
from isthmus.analytics.anomaly.group_rows import GroupRows
from isthmus.analytics.anomaly.scorers import PcaScorer, RobustZScorer, SeasonalScorer
from isthmus.bus import Bus
from isthmus.config import load_site
from isthmus.config.schema import SiteConfig
from isthmus.model import Event, EventKind, Quality, SampleBatch, TagRegistry
from tests.analytics.anomaly_sim import run_scenario
from tests.analytics.conftest import PREFIX, SITE, T0, S

EXAMPLE = Path(__file__).parents[2] / "examples" / "packaging-plant.yaml"
MOTOR = "packaging/line1/conveyor/motor/"


def test_rows_hold_each_tags_last_value() -> None:
    rows = GroupRows([7, 3])
    ts, table = rows.rows(SampleBatch.of([7, 3, 7], [10, 10, 20], [1.0, 2.0, 5.0]))
    assert ts.tolist() == [10, 20]
    np.testing.assert_array_equal(table, [[1.0, 2.0], [5.0, 2.0]])
    ts, table = rows.rows(SampleBatch.of([3], [30], [9.0]))
    np.testing.assert_array_equal(table, [[5.0, 9.0]])


def test_rows_skip_bad_quality_and_samples_from_the_past() -> None:
    rows = GroupRows([1])
    rows.rows(SampleBatch.of([1], [10], [1.0]))
    ts, table = rows.rows(SampleBatch.of([1, 1, 1], [5, 20, 30], [9.0, 2.0, 8.0],
                                         [Quality.GOOD, Quality.GOOD, Quality.BAD]))
    assert ts.tolist() == [20]
    np.testing.assert_array_equal(table, [[2.0]])


@pytest.mark.parametrize("chunk", [1, 7, 50])
def test_streaming_pca_scores_equal_the_offline_scores(chunk: int) -> None:
    rng = np.random.default_rng(0)
    base = rng.normal(size=(400, 1))
    rows = np.hstack([base, base + 0.1 * rng.normal(size=(400, 1)), rng.normal(size=(400, 1))])
    scorer = PcaScorer(3, max_training_rows=1000)
    scorer.learn(np.arange(200), rows[:200])
    scorer.fit()
    streamed = np.concatenate([scorer.score(np.arange(i, min(i + chunk, 400)),
                                            rows[i:i + chunk])[0] for i in range(200, 400, chunk)])
    offline = MultivariateDetector.fit(rows[:200])
    # offline smoothing also sees the training rows; compare once the window is past them
    expected = offline.scores(rows)[200:]
    np.testing.assert_allclose(streamed[20:], expected[20:], rtol=1e-9)


def test_robust_z_does_not_learn_a_lasting_fault() -> None:
    rng = np.random.default_rng(1)
    scorer = RobustZScorer(1, window=50, threshold=6.0)
    scorer.learn(np.arange(50), rng.normal(size=(50, 1)))
    scorer.fit()
    fault = 20.0 + rng.normal(size=(200, 1))
    scores, _ = scorer.score(np.arange(200), fault)
    assert np.all(scores > 6.0)  # still anomalous after four windows' worth of samples


def test_seasonal_baseline_compares_with_the_same_hour() -> None:
    hour = 3600 * S
    ts = T0 + np.arange(0, 14 * 24) * hour
    daily = np.where((ts // hour) % 24 < 12, 10.0, 50.0)[:, None]
    noisy = daily + np.random.default_rng(2).normal(scale=0.5, size=daily.shape)
    scorer = SeasonalScorer(1)
    scorer.learn(ts, noisy)
    scorer.fit()
    later = ts[-48:] + 7 * 24 * hour
    normal, _ = scorer.score(later, noisy[-48:])
    swapped, _ = scorer.score(later, 60.0 - noisy[-48:])  # day and night exchanged
    assert normal.max() < 6.0
    assert swapped.min() > 6.0


def _site(*groups: dict[str, Any]) -> SiteConfig:
    return SiteConfig.model_validate({**SITE, "analytics": {"anomaly": list(groups)}})


def test_config_refuses_an_unknown_tag_with_a_suggestion() -> None:
    with pytest.raises(ValidationError, match=r"unknown tag .*did you mean .*level"):
        _site({"name": "g", "tags": ["process/line1/tank1/tank/levle",
                                     "process/line1/tank1/tank/temperature"]})


def test_config_needs_one_kind_of_training_period() -> None:
    with pytest.raises(ValidationError, match="either `samples: N` or `from:` and `to:`"):
        _site({"name": "g", "tags": ["process/line1/tank1/tank/level"], "method": "robust_z",
               "train": {"samples": 100, "from": "2023-11-15T00:00:00Z"}})


def test_engine_writes_scores_and_names_the_signal_behind_an_event() -> None:
    site = _site({"name": "tank", "method": "robust_z", "window": 30, "train": {"samples": 30},
                  "tags": ["process/line1/tank1/tank/level",
                           "process/line1/tank1/tank/temperature"]})
    registry = TagRegistry(enumerate([*site.tags(), *anomaly_derived_tags(site)]))
    engine = AnomalyEngine(site, registry)
    level, temp = (registry.id_of(f"{PREFIX}/{s}") for s in ("level", "temperature"))
    rng = np.random.default_rng(3)
    events = []
    for i in range(60):
        jump = 25.0 if i >= 45 else 0.0
        events += engine.update(SampleBatch.of(
            [level, temp], [T0 + i * S] * 2, [50 + rng.normal(), 20 + rng.normal() + jump]))
    raised = [e for e in events if e.kind == EventKind.ALARM and e.data["active"]]
    assert [e.ts for e in raised] == [T0 + 45 * S]
    assert raised[0].data["signals"][0]["tag"] == f"{PREFIX}/temperature"
    assert "temperature" in raised[0].message
    scores = engine.derived.take()
    assert len(scores) == 30  # one per row after the 30 training rows
    assert set(scores.tag_id.tolist()) == {registry.id_of(f"{PREFIX}/tank_anomaly_score")}


@pytest.fixture(scope="module")
def example_site() -> SiteConfig:
    return load_site(EXAMPLE)


def test_pca_group_detects_a_noisy_current_on_the_conveyor(example_site: SiteConfig) -> None:
    group = {"name": "conveyor", "method": "pca", "train": {"samples": 540},
             "tags": [MOTOR + s for s in ("speed", "current", "bearing_vibration", "load")]}
    fault = f"{{kind: noise, target: acme/lyon/{MOTOR}current, sigma: 3, start: 3h}}"
    outcome = run_scenario(example_site, [group], fault, fault_s=3 * 3600, hours=4.5)
    print(f"pca conveyor: detection delay {outcome.delay_s} s, false events "
          f"{outcome.false_events}")
    assert outcome.delay_s is not None and outcome.delay_s < 3600
    assert outcome.false_events <= 1
    assert outcome.scores > 0


def test_robust_z_detects_fill_weight_spikes(example_site: SiteConfig) -> None:
    group = {"name": "fill", "method": "robust_z", "train": {"samples": 120},
             "tags": ["packaging/line1/filler/filler/fill_weight"]}
    fault = ("{kind: spike, target: acme/lyon/packaging/line1/filler/filler/fill_weight, "
             "start: 3h, every: 30m, width: 20s, magnitude: 20}")
    outcome = run_scenario(example_site, [group], fault, fault_s=3 * 3600, hours=4.5)
    print(f"robust_z fill weight: detection delay {outcome.delay_s} s, false events "
          f"{outcome.false_events}, events {len(outcome.raised_s)}")
    assert outcome.delay_s is not None and outcome.delay_s < 60
    assert outcome.false_events <= 1


async def test_engine_on_the_bus_publishes_score_batches_and_events() -> None:
    site = _site({"name": "tank", "method": "robust_z", "window": 20, "train": {"samples": 20},
                  "tags": ["process/line1/tank1/tank/level"]})
    registry = TagRegistry(enumerate([*site.tags(), *anomaly_derived_tags(site)]))
    engine = AnomalyEngine(site, registry)
    bus = Bus()
    engine_in = bus.subscribe("anomaly", durable=True, maxsize=64)
    store = bus.subscribe("historian", durable=True, maxsize=1024)
    level = registry.id_of(f"{PREFIX}/level")
    score_id = registry.id_of(f"{PREFIX}/tank_anomaly_score")
    task = asyncio.create_task(engine.run(engine_in, bus.publish, bus.publish))
    rng = np.random.default_rng(4)
    for i in range(40):
        value = 50 + rng.normal() + (30.0 if i == 30 else 0.0)
        await bus.publish(SampleBatch.of([level], [T0 + i * S], [value]))
    while engine.stats.batches < 40:
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.05)
    await bus.close()
    stats = await task
    scores, events = 0, []
    while (message := await store.get()) is not None:
        if isinstance(message, SampleBatch):
            scores += int(np.sum(message.tag_id == score_id))
        elif isinstance(message, Event):
            events.append(message)
    assert scores == 20
    assert [e.ts for e in events if e.data.get("active")] == [T0 + 30 * S]
    assert stats.unpublished == []


def _tank_engine() -> tuple[AnomalyEngine, TagRegistry]:
    site = _site({"name": "tank", "method": "pca", "train": {"samples": 40},
                  "tags": ["process/line1/tank1/tank/level",
                           "process/line1/tank1/tank/temperature"]})
    registry = TagRegistry(enumerate([*site.tags(), *anomaly_derived_tags(site)]))
    return AnomalyEngine(site, registry), registry


def test_the_engine_is_a_streaming_detector() -> None:
    assert isinstance(_tank_engine()[0], StreamingDetector)


def test_same_batches_give_the_same_scores_and_leave_the_input_alone() -> None:
    rng = np.random.default_rng(7)
    engine, registry = _tank_engine()
    ids = [registry.id_of(f"{PREFIX}/{s}") for s in ("level", "temperature")]
    batches = [SampleBatch.of(ids, [T0 + i * S] * 2, rng.normal(size=2)) for i in range(80)]
    copies = [b.value.copy() for b in batches]
    runs = []
    for _ in range(2):
        engine, _ = _tank_engine()
        for batch in batches:
            engine.update(batch)
        runs.append(engine.derived.take().value)
    np.testing.assert_array_equal(runs[0], runs[1])
    assert runs[0].size == 40
    for batch, copy in zip(batches, copies, strict=True):
        np.testing.assert_array_equal(batch.value, copy)


def test_a_timed_training_period_ignores_rows_before_it_and_scores_after_it() -> None:
    start, end = "2023-11-14T22:13:30Z", "2023-11-14T22:14:00Z"  # T0 + 10 s … T0 + 40 s
    site = _site({"name": "tank", "method": "seasonal", "train": {"from": start, "to": end},
                  "tags": ["process/line1/tank1/tank/level"]})
    registry = TagRegistry(enumerate([*site.tags(), *anomaly_derived_tags(site)]))
    engine = AnomalyEngine(site, registry)
    level = registry.id_of(f"{PREFIX}/level")
    rng = np.random.default_rng(8)
    events = []
    for i in range(60):
        events += engine.update(SampleBatch.of([level], [T0 + i * S], [50 + rng.normal()]))
    trained = [e for e in events if e.kind == EventKind.SYSTEM]
    assert len(trained) == 1 and "trained on 30 samples" in trained[0].message
    assert trained[0].ts == T0 + 40 * S
    assert len(engine.derived.take()) == 20  # rows at 40 … 59 s


def test_a_group_that_cannot_train_says_why_once() -> None:
    site = _site({"name": "tank", "method": "pca", "train": {"samples": 5},
                  "tags": ["process/line1/tank1/tank/level",
                           "process/line1/tank1/tank/temperature"]})
    registry = TagRegistry(enumerate([*site.tags(), *anomaly_derived_tags(site)]))
    engine = AnomalyEngine(site, registry)
    ids = [registry.id_of(f"{PREFIX}/{s}") for s in ("level", "temperature")]
    events = []
    for i in range(10):
        events += engine.update(SampleBatch.of(ids, [T0 + i * S] * 2, [float(i), 1.0 + i]))
    assert [e.severity.name for e in events] == ["HIGH"]
    assert "not trained" in events[0].message and "at least 20 training rows" in events[0].message


def test_config_needs_a_utc_offset_on_training_times() -> None:
    with pytest.raises(ValidationError, match="need a UTC offset"):
        _site({"name": "g", "tags": ["process/line1/tank1/tank/level"], "method": "robust_z",
               "train": {"from": "2023-11-15T00:00:00", "to": "2023-11-16T00:00:00"}})
