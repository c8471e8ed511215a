"""A clean simulated day after the learning period raises no sensor-integrity event."""

from __future__ import annotations

import pytest

from isthmus.config.schema import SiteConfig
from tests.integrity.sensors.plant_feed import run_plant

LEARN_H = 12.0
JUDGED_H = 24.0


@pytest.mark.slow  # ≈ 20 s: 36 simulated hours at one sample per 2 s
def test_a_clean_day_is_silent(plant_site: SiteConfig) -> None:
    assert plant_site.integrity is not None
    assert plant_site.integrity.learn.first == LEARN_H * 3600
    run = run_plant(plant_site, plant_site.integrity, hours=LEARN_H + JUDGED_H, seed=11,
                    step_s=2.0)
    assert run.engine is not None
    watched = len(run.engine.detectors)
    assert watched >= 25
    # a full day of every watched tag was judged after the learning period
    assert run.engine.stats.samples_judged >= JUDGED_H * 3600 / 2.0 * watched
    assert [e.message for e in run.events] == []
