"""Properties every per-tag detector keeps: silence on stationary noise of any level, the
same findings however the stream is cut into batches, bounded memory; and each finds the
fault it exists for."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from isthmus.integrity.sensors.engine import TagDetector
from isthmus.integrity.sensors.noise import NoiseDetector
from isthmus.integrity.sensors.replay import ReplayDetector
from isthmus.integrity.sensors.settings import (
    NoiseSettings,
    ReplaySettings,
    SpikeSettings,
    StuckSettings,
)
from isthmus.integrity.sensors.spike import SpikeDetector
from isthmus.integrity.sensors.stuck import StuckDetector
from tests.integrity.sensors.synthetic import TAG, learn_then_score, noise

LEARN, JUDGE = 3000, 3000
DETECTORS: dict[str, Callable[[], TagDetector]] = {
    "stuck": lambda: StuckDetector(TAG, StuckSettings()),
    "spike": lambda: SpikeDetector(TAG, SpikeSettings()),
    "noise": lambda: NoiseDetector(TAG, NoiseSettings()),
    "replay": lambda: ReplayDetector(TAG, ReplaySettings()),
}
levels = st.floats(-1e4, 1e4, allow_nan=False)
sigmas = st.floats(1e-3, 1e2)
seeds = st.integers(0, 2**32 - 1)


@pytest.mark.parametrize("kind", sorted(DETECTORS))
@settings(max_examples=12, deadline=None)
@given(level=levels, sigma=sigmas, seed=seeds)
def test_stationary_noise_raises_nothing(kind: str, level: float, sigma: float,
                                         seed: int) -> None:
    x = noise(LEARN + JUDGE, level=level, sigma=sigma, seed=seed)
    assert learn_then_score(DETECTORS[kind](), x[:LEARN], x[LEARN:]) == []


def faulty(kind: str, seed: int) -> np.ndarray:
    """Noise around 50 with the detector's own fault in the judged part."""
    x = noise(LEARN + JUDGE, level=50.0, sigma=1.0, seed=seed)
    j = LEARN + 1000
    if kind == "stuck":
        x[j:j + 300] = x[j]
    elif kind == "spike":
        x[j] += 40.0
        x[j + 500:j + 502] -= 35.0
    elif kind == "noise":
        x[j:j + 600] += np.random.default_rng(seed + 1).normal(0, 8.0, 600)
    elif kind == "replay":
        x[j:j + 200] = x[500:700]          # a segment recorded while learning, played back
    return x


@pytest.mark.parametrize("kind", sorted(DETECTORS))
@settings(max_examples=5, deadline=None)
@given(seed=seeds, cuts=st.lists(st.integers(1, JUDGE - 1), max_size=12))
def test_batch_boundaries_do_not_change_findings(kind: str, seed: int,
                                                 cuts: list[int]) -> None:
    x = faulty(kind, seed)
    whole = learn_then_score(DETECTORS[kind](), x[:LEARN], x[LEARN:])
    cut = learn_then_score(DETECTORS[kind](), x[:LEARN], x[LEARN:], cuts=cuts)
    assert [(f.kind, f.ts, f.since) for f in cut] == [(f.kind, f.ts, f.since) for f in whole]


@pytest.mark.parametrize("kind", sorted(DETECTORS))
@settings(max_examples=5, deadline=None)
@given(seed=seeds)
def test_each_detector_finds_its_fault(kind: str, seed: int) -> None:
    x = faulty(kind, seed)
    found = learn_then_score(DETECTORS[kind](), x[:LEARN], x[LEARN:])
    assert found and {f.kind.value for f in found} == {kind}
    assert min(f.ts for f in found) >= (LEARN + 1000) * 10**9


def test_spike_and_step_are_told_apart() -> None:
    x = noise(LEARN + JUDGE, level=10.0, sigma=0.5, seed=1)
    x[LEARN + 800:] += 30.0                    # a step that stays: not a spike
    assert learn_then_score(SpikeDetector(TAG, SpikeSettings()), x[:LEARN], x[LEARN:]) == []


def test_frozen_noise_free_signal_is_found() -> None:
    x = noise(LEARN + JUDGE, level=20.0, sigma=0.3, seed=2)
    j = LEARN + 1000
    x[j:] = np.linspace(x[j], x[j] + 5.0, len(x) - j)    # smooth, moving, no noise
    found = learn_then_score(NoiseDetector(TAG, NoiseSettings()), x[:LEARN], x[LEARN:])
    assert [f.kind.value for f in found] == ["frozen"]


@settings(max_examples=8, deadline=None)
@given(seed=seeds, sizes=st.lists(st.integers(1, 700), min_size=5, max_size=40))
def test_memory_is_bounded(seed: int, sizes: list[int]) -> None:
    detectors: list[TagDetector] = [make() for make in DETECTORS.values()]
    x = noise(sum(sizes), level=5.0, sigma=1.0, seed=seed)
    t = np.arange(len(x), dtype=np.int64) * 10**9
    first = 0
    for k, n in enumerate(sizes):
        for detector in detectors:
            (detector.learn if k < len(sizes) // 2 else detector.score)(
                t[first:first + n], x[first:first + n])
        if k == len(sizes) // 2 - 1:
            for detector in detectors:
                detector.finish()
        first += n
    stuck, spike, noisy, replay = detectors
    assert isinstance(spike, SpikeDetector) and isinstance(noisy, NoiseDetector)
    assert isinstance(replay, ReplayDetector) and isinstance(stuck, StuckDetector)
    assert len(spike._tail) <= spike.settings.window
    assert len(noisy._tail) <= noisy.settings.window
    assert len(replay._tail) <= replay.settings.length - 1
    assert replay._keys.shape == (replay.settings.history,)
    assert len(spike._scales) <= 4096 + 700 and len(noisy._learned) <= 4096 + 700
    assert len(stuck._dts) <= 512
