"""The sensor-integrity engine: every configured detector and relation of a site, fed each
sample batch once and in order, learning its baseline on a clean period first.

Bounded memory per tag: each detector keeps a fixed-size tail (and the replay detector a
fixed-size fingerprint ring); relations keep the latest value of each tag and a bounded
horizon.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from isthmus.integrity.sensors.findings import Finding, FindingKind
from isthmus.integrity.sensors.noise import NoiseDetector
from isthmus.integrity.sensors.relations import RelationModel, relation_model, relation_tags
from isthmus.integrity.sensors.replay import ReplayDetector
from isthmus.integrity.sensors.residual import ResidualJudge
from isthmus.integrity.sensors.settings import IntegrityConfig, Relation
from isthmus.integrity.sensors.spike import SpikeDetector
from isthmus.integrity.sensors.stuck import StuckDetector
from isthmus.integrity.sensors.tail import Floats, Times
from isthmus.model import DataType, Event, SampleBatch, TagRegistry

__all__ = ["SensorIntegrityEngine", "SensorIntegrityStats", "TagDetector"]

#: a spike this close to an outlier of another signal of its asset is a process transient
SHARED_SPIKE_NS = 30 * 1_000_000_000


class TagDetector(Protocol):
    """What every per-tag detector offers: learn on the clean period, freeze, then score."""

    def learn(self, ts: Times, x: Floats) -> None: ...

    def finish(self) -> None: ...

    def score(self, ts: Times, x: Floats) -> list[Finding]: ...


@dataclass(slots=True)
class SensorIntegrityStats:
    batches: int = 0
    samples_seen: int = 0
    samples_judged: int = 0
    findings: int = 0


@dataclass(slots=True)
class _Relation:
    name: str
    tag_ids: list[int]
    model: RelationModel
    judge: ResidualJudge


class SensorIntegrityEngine:
    """`update(batch)` returns the integrity events the batch caused. Until the learning
    period ends (the first `learn.first` seconds of data, or an explicit `learn` of a stored
    clean period followed by `finish_learning`) it only learns."""

    def __init__(self, config: IntegrityConfig, registry: TagRegistry, *, prefix: str) -> None:
        self.config = config
        self.prefix = prefix.strip("/") + "/"
        self._registry = registry
        self.detectors: dict[int, list[TagDetector]] = {
            tag_id: self._detectors(tag.path) for tag_id, tag in registry
            if tag.data_type != DataType.BOOL and self._watched(tag.path)}
        spikes = {self._registry.tag(i).path: d for i, ds in self.detectors.items()
                  for d in ds if isinstance(d, SpikeDetector)}
        self._siblings = {path: [d for other, d in spikes.items() if other != path
                                 and other.rsplit("/", 1)[0] == path.rsplit("/", 1)[0]]
                          for path in spikes}
        self.relations = [self._relation(i, r) for i, r in enumerate(config.relations)]
        related = {t for rel in self.relations for t in rel.tag_ids}
        self._interest = np.array(sorted(set(self.detectors) | related), dtype=np.int32)
        self._last: dict[int, tuple[int, float]] = {}
        self.learn_until: int | None = None
        self.learning = True
        self.stats = SensorIntegrityStats()

    # --- configuration ------------------------------------------------------------------
    def _matches(self, path: str, patterns: Iterable[str]) -> bool:
        relative = path.removeprefix(self.prefix)
        return any(fnmatch.fnmatchcase(path, p) or fnmatch.fnmatchcase(relative, p)
                   for p in patterns)

    def _watched(self, path: str) -> bool:
        sensors = self.config.sensors
        return self._matches(path, sensors.tags) and not self._matches(path, sensors.exclude)

    def _detectors(self, path: str) -> list[TagDetector]:
        s = self.config.sensors
        chosen: list[TagDetector] = []
        for settings, make in ((s.stuck, lambda: StuckDetector(path, s.stuck)),
                               (s.spike, lambda: SpikeDetector(path, s.spike)),
                               (s.noise, lambda: NoiseDetector(path, s.noise)),
                               (s.replay, lambda: ReplayDetector(path, s.replay))):
            if settings.enabled and not self._matches(path, settings.exclude):
                chosen.append(make())
        return chosen

    def _resolve(self, index: int, relation: Relation, name: str) -> int:
        full = name if name.count("/") == 6 else self.prefix + name.strip("/")
        if full not in self._registry:
            raise ValueError(f"integrity.relations[{index}] ({relation.kind}): tag {name!r} "
                             f"is not a configured tag of this site")
        return self._registry.id_of(full)

    def _relation(self, index: int, relation: Relation) -> _Relation:
        names = relation_tags(relation)
        ids = [self._resolve(index, relation, n) for n in names]
        paths = [self._registry.tag(i).path for i in ids]
        name = relation.name or f"{relation.kind}:{'~'.join(n.rsplit('/', 1)[-1] for n in names)}"
        model = relation_model(relation, paths)
        judge = ResidualJudge(name, paths[0], tolerance=relation.tolerance,
                              hold_s=relation.hold, tau_s=self.config.drift_time_constant,
                              margin=self.config.margin,
                              evidence={"kind": relation.kind, "tags": paths},
                              classify=relation.kind in ("redundant", "linear"))
        return _Relation(name, ids, model, judge)

    def tag_ids(self) -> list[int]:
        """Ids of every tag a detector or a relation reads."""
        return [int(i) for i in self._interest]

    def tag_path(self, tag_id: int) -> str:
        return self._registry.tag(tag_id).path

    # --- streaming ----------------------------------------------------------------------
    def update(self, batch: SampleBatch) -> list[Event]:
        """Judge `batch` (learning first while the learning period lasts)."""
        self.stats.batches += 1
        self.stats.samples_seen += len(batch)
        batch = self._relevant(batch)
        if not len(batch):
            return []
        if self.learning and self.learn_until is None:
            self.learn_until = int(batch.ts.min()) + int(self.config.learn.first * 1e9)
        findings: list[Finding] = []
        if self.learning and self.learn_until is not None:
            early = batch.ts < self.learn_until
            self._feed(batch.take(early), learning=True)
            if np.all(early):
                return []
            self.finish_learning()
            batch = batch.take(~early)
        findings = self._unshared(self._feed(batch, learning=False))
        self.stats.samples_judged += len(batch)
        self.stats.findings += len(findings)
        return [f.event() for f in sorted(findings, key=lambda f: f.ts)]

    def learn(self, batch: SampleBatch) -> None:
        """Learn from a stored clean period (call `finish_learning` after the last batch)."""
        self._feed(self._relevant(batch), learning=True)

    def finish_learning(self) -> None:
        for detectors in self.detectors.values():
            for detector in detectors:
                detector.finish()
        for relation in self.relations:
            relation.model.finish()
            relation.judge.finish()
        self.learning = False

    def _unshared(self, findings: list[Finding]) -> list[Finding]:
        """Drop spikes that another signal of the same asset shares (an outlier of its own
        starting within 30 s): a brief machine stop shows on its speed, current and load
        at once, while a sensor spike is on one sensor alone."""
        return [f for f in findings if f.kind != FindingKind.SPIKE
                or not any(abs(t - f.since) <= SHARED_SPIKE_NS
                           for other in self._siblings.get(f.tag, ()) for t in other.outliers)]

    def _relevant(self, batch: SampleBatch) -> SampleBatch:
        keep = (np.isin(batch.tag_id, self._interest) & np.isfinite(batch.value)
                & ((batch.quality & np.uint32(0xC0000000)) == 0))
        return batch if bool(np.all(keep)) else batch.take(keep)

    def _feed(self, batch: SampleBatch, *, learning: bool) -> list[Finding]:
        if not len(batch):
            return []
        order = np.lexsort((batch.ts, batch.tag_id))
        tag_ids, ts, x = batch.tag_id[order], batch.ts[order], batch.value[order]
        cuts = np.flatnonzero(np.diff(tag_ids)) + 1
        groups = {int(tag_ids[a]): (ts[a:b], x[a:b]) for a, b in
                  zip(np.concatenate([[0], cuts]), np.concatenate([cuts, [len(x)]]),
                      strict=True)}
        findings: list[Finding] = []
        for tag_id, (t, v) in groups.items():
            for detector in self.detectors.get(tag_id, ()):
                if learning:
                    detector.learn(t, v)
                else:
                    findings += detector.score(t, v)
        for relation in self.relations:
            findings += self._relate(relation, groups, learning=learning)
        for tag_id, (t, v) in groups.items():
            self._last[tag_id] = (int(t[-1]), float(v[-1]))
        return findings

    def _relate(self, relation: _Relation, groups: dict[int, tuple[Times, Floats]], *,
                learning: bool) -> list[Finding]:
        clock = groups.get(relation.tag_ids[0])
        if clock is None:
            return []
        t = clock[0]
        cols = [clock[1], *(self._held(i, groups, t) for i in relation.tag_ids[1:])]
        if learning:
            relation.judge.learn(t, relation.model.learn(t, cols))
            return []
        return relation.judge.score(t, relation.model.residuals(t, cols))

    def _held(self, tag_id: int, groups: dict[int, tuple[Times, Floats]],
              at: Times) -> Floats:
        """The tag's latest value at or before each time of `at` (NaN before any)."""
        last = self._last.get(tag_id)
        t0, x0 = (np.array([last[0]], np.int64), np.array([last[1]])) if last else (
            np.zeros(0, np.int64), np.zeros(0))
        own = groups.get(tag_id)
        times = np.concatenate([t0, own[0]]) if own else t0
        values = np.concatenate([x0, own[1]]) if own else x0
        if not len(times):
            return np.full(len(at), np.nan)
        i = np.searchsorted(times, at, side="right") - 1
        return np.where(i >= 0, values[np.maximum(i, 0)], np.nan)
