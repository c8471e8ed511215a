"""The site file's `integrity:` section, and the relations judged on aligned signals."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from isthmus.config import SiteConfigError, load_site
from isthmus.config.schema import SiteConfig
from isthmus.integrity.sensors import IntegrityConfig, SensorIntegrityEngine
from isthmus.model import SampleBatch, Tag, TagRegistry

SITE = """
enterprise: acme
site: test
devices:
  - name: plc
    host: 127.0.0.1
    units:
      - unit_id: 1
        path: area/line/cell/tank
        tags:
          level: {{address: 0}}
          level_2: {{address: 1}}
integrity:
  relations:
    - kind: redundant
      a: area/line/cell/tank/level
      b: area/line/cell/tank/{b}
"""


def test_site_file_declares_relations(tmp_path: Path) -> None:
    path = tmp_path / "site.yaml"
    path.write_text(SITE.format(b="level_2"))
    site = load_site(path)
    assert site.integrity is not None
    assert site.integrity.relations[0].kind == "redundant"
    assert site.integrity.learn.first == 6 * 3600


def test_relation_to_an_unknown_tag_names_it(tmp_path: Path) -> None:
    path = tmp_path / "site.yaml"
    path.write_text(SITE.format(b="levle_2"))
    with pytest.raises(SiteConfigError, match=r"integrity.relations\[0\] \(redundant\): b "
                                              r"'area/line/cell/tank/levle_2'"):
        load_site(path)


def test_demo_site_watches_its_tags(plant_site: SiteConfig) -> None:
    assert plant_site.integrity is not None
    kinds = sorted(r.kind for r in plant_site.integrity.relations)
    assert kinds == ["balance", "integral", "linear", "redundant"]


def pair_engine(**relation: object) -> tuple[SensorIntegrityEngine, int, int]:
    registry = TagRegistry()
    a = registry.intern(Tag("acme/test/area/line/cell/tank/level"))
    b = registry.intern(Tag("acme/test/area/line/cell/tank/level_2"))
    config = IntegrityConfig.model_validate({
        "learn": {"first": 3600}, "sensors": {"tags": []},
        "relations": [{"kind": "redundant", "a": "area/line/cell/tank/level",
                       "b": "area/line/cell/tank/level_2", **relation}]})
    return SensorIntegrityEngine(config, registry, prefix="acme/test"), a, b


def feed(engine: SensorIntegrityEngine, a: int, b: int, level: np.ndarray,
         offset: np.ndarray) -> list[str]:
    """Both transmitters at 1 s, b with `offset` added and its own small noise; b's samples
    come 0.4 s after a's (the relation holds b at its latest value)."""
    n = len(level)
    rng = np.random.default_rng(5)
    t = np.arange(n, dtype=np.int64) * 10**9
    kinds: list[str] = []
    for first in range(0, n, 600):
        s = slice(first, first + 600)
        batch = SampleBatch.of(
            np.concatenate([np.full(len(t[s]), a), np.full(len(t[s]), b)]),
            np.concatenate([t[s], t[s] + 400_000_000]),
            np.concatenate([level[s], level[s] + offset[s]
                            + rng.normal(0, 0.001, len(t[s]))]))
        kinds += [str(e.data["integrity.kind"]) for e in engine.update(batch)]
    return kinds


def test_redundant_pair_tells_a_jump_from_a_creep() -> None:
    n = 4 * 3600
    level = 2.0 + 0.5 * np.sin(np.arange(n) / 3000.0)
    jump = np.where(np.arange(n) > 2 * 3600, 0.2, 0.0)
    creep = np.clip((np.arange(n) - 2 * 3600) / 3600.0 * 0.05, 0.0, None)   # 5 cm/h
    engine, a, b = pair_engine()
    assert feed(engine, a, b, level, jump) == ["inconsistent"]
    engine, a, b = pair_engine()
    assert feed(engine, a, b, level, creep) == ["drift"]
    engine, a, b = pair_engine()
    assert feed(engine, a, b, level, np.zeros(n)) == []


def test_a_spike_shared_by_two_signals_of_one_asset_is_a_process_transient() -> None:
    registry = TagRegistry()
    speed = registry.intern(Tag("acme/test/area/line/cell/motor/speed"))
    load = registry.intern(Tag("acme/test/area/line/cell/motor/load"))
    config = IntegrityConfig.model_validate({"learn": {"first": 3000}})
    rng = np.random.default_rng(3)
    n = 4000
    t = np.arange(n, dtype=np.int64) * 10**9
    x_speed, x_load = 1480 + 2 * rng.standard_normal(n), 60 + rng.standard_normal(n)

    def events(stop_s: int, spike_load: bool) -> list[str]:
        engine = SensorIntegrityEngine(config, registry, prefix="acme/test")
        s, ld = x_speed.copy(), x_load.copy()
        s[3500:3500 + stop_s] = 0.0            # the motor stops for a few seconds
        if spike_load:
            ld[3501:3503] = 0.0
        batch = SampleBatch.of(np.concatenate([np.full(n, speed), np.full(n, load)]),
                               np.concatenate([t, t]), np.concatenate([s, ld]))
        return [f"{e.tag}:{e.data['integrity.kind']}" for e in engine.update(batch)]

    assert events(3, spike_load=False) == ["acme/test/area/line/cell/motor/speed:spike"]
    assert events(3, spike_load=True) == []
    # a longer stop is a step on the speed, yet it still explains the load's short dip
    assert events(8, spike_load=True) == []
    assert events(0, spike_load=True) == ["acme/test/area/line/cell/motor/load:spike"]
