"""The anomaly engine: a streaming component on the bus that scores each configured tag group
once it has seen its clean period, writes the score as a derived tag, and raises an event when
the score crosses its threshold, naming the tags that contributed most."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import Enum

import numpy as np
import numpy.typing as npt

from isthmus.analytics.anomaly.errors import AnomalyError
from isthmus.analytics.anomaly.group_rows import GroupRouter, GroupRows
from isthmus.analytics.anomaly.scorers import (
    PcaScorer,
    RobustZScorer,
    RowScorer,
    SeasonalScorer,
)
from isthmus.analytics.derived import DerivedSamples
from isthmus.analytics.streaming import Outgoing, consume
from isthmus.bus import Message, Subscription
from isthmus.config.alarms import resolve_tag
from isthmus.config.anomaly import AnomalyGroupConfig, AnomalyMethod
from isthmus.config.schema import SiteConfig
from isthmus.model import Event, EventKind, SampleBatch, Severity, Tag, TagRegistry

__all__ = ["AnomalyEngine", "AnomalyGroup", "anomaly_derived_tags", "score_tag_path"]

log = logging.getLogger(__name__)

MAX_TRAINING_ROWS = 100_000
TOP_SIGNALS = 3


def score_tag_path(site: SiteConfig, group: AnomalyGroupConfig) -> str:
    """`<asset of the group's first tag>/<group name>_anomaly_score`."""
    first = resolve_tag(f"{site.enterprise}/{site.site}", group.tags[0])
    return f"{first.rsplit('/', 1)[0]}/{group.name}_anomaly_score"


def anomaly_derived_tags(site: SiteConfig) -> list[Tag]:
    return [Tag(score_tag_path(site, g), description=f"anomaly score of group {g.name} "
                f"({g.method.value})", source={"connector": "analytics", "component": "anomaly"})
            for g in site.analytics.anomaly]


class Phase(Enum):
    WAITING = "waiting"  # before a timed training period starts
    TRAINING = "training"
    SCORING = "scoring"
    FAILED = "failed"  # training data could not train a model; reported once


def _scorer(config: AnomalyGroupConfig) -> RowScorer:
    tags = len(config.tags)
    if config.method == AnomalyMethod.ROBUST_Z:
        return RobustZScorer(tags, window=config.window, threshold=config.threshold or 6.0)
    if config.method == AnomalyMethod.SEASONAL:
        return SeasonalScorer(tags)
    return PcaScorer(tags, max_training_rows=MAX_TRAINING_ROWS)


@dataclass(slots=True)
class AnomalyGroup:
    config: AnomalyGroupConfig
    paths: list[str]
    score_path: str
    rows: GroupRows
    scorer: RowScorer
    phase: Phase = Phase.TRAINING
    trained_rows: int = 0
    threshold: float = float("inf")
    active: bool = False
    samples_scored: int = 0

    def in_training(self, ts: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
        train = self.config.train
        if train.samples is not None:
            return np.arange(ts.size) < train.samples - self.trained_rows
        assert train.start is not None and train.end is not None
        start, end = (int(t.timestamp() * 1e9) for t in (train.start, train.end))
        return (ts >= start) & (ts < end)


@dataclass(slots=True)
class AnomalyEngineStats:
    batches: int = 0
    rows_scored: int = 0
    events: int = 0
    unpublished: list[Event] = field(default_factory=list)


class AnomalyEngine:
    """`update(batch)` returns the events it caused; derived score samples collect in
    `derived` (take them with `derived.take()`)."""

    def __init__(self, site: SiteConfig, registry: TagRegistry) -> None:
        prefix = f"{site.enterprise}/{site.site}"
        self.groups: list[AnomalyGroup] = []
        for config in site.analytics.anomaly:
            paths = [resolve_tag(prefix, tag) for tag in config.tags]
            group = AnomalyGroup(config=config, paths=paths,
                                 score_path=score_tag_path(site, config),
                                 rows=GroupRows([registry.id_of(p) for p in paths]),
                                 scorer=_scorer(config))
            if config.train.samples is None:
                group.phase = Phase.WAITING
            self.groups.append(group)
        self._router = GroupRouter([g.rows.tag_ids for g in self.groups])
        self.derived = DerivedSamples(registry)
        self.stats = AnomalyEngineStats()

    def update(self, batch: SampleBatch) -> list[Event]:
        self.stats.batches += 1
        events: list[Event] = []
        for group, samples in zip(self.groups, self._router.split(batch), strict=True):
            if not samples[0].size:
                continue
            ts, rows = group.rows.rows_of(*samples)
            if ts.size:
                events += self._advance(group, ts, rows)
        self.stats.events += len(events)
        return events

    def tick(self, now_ns: int) -> list[Event]:
        return []

    def _advance(self, group: AnomalyGroup, ts: npt.NDArray[np.int64],
                 rows: npt.NDArray[np.float64]) -> list[Event]:
        events: list[Event] = []
        if group.phase in (Phase.WAITING, Phase.TRAINING):
            training = group.in_training(ts)
            if training.any():
                group.phase = Phase.TRAINING
                group.scorer.learn(ts[training], rows[training])
                group.trained_rows += int(training.sum())
            after = ~training & (np.arange(ts.size) > (np.flatnonzero(training).max()
                                                       if training.any() else -1))
            if group.phase == Phase.TRAINING and after.any():
                events += self._finish_training(group, int(ts[after][0]))
                ts, rows = ts[after], rows[after]
            else:
                return events
        if group.phase != Phase.SCORING:
            return events
        scores, contributions = group.scorer.score(ts, rows)
        group.samples_scored += ts.size
        self.stats.rows_scored += ts.size
        for t, s in zip(ts, scores, strict=True):
            self.derived.add(group.score_path, int(t), float(s))
        return events + self._crossings(group, ts, scores, contributions)

    def _finish_training(self, group: AnomalyGroup, at: int) -> list[Event]:
        name = group.config.name
        try:
            learned = group.scorer.fit()
        except AnomalyError as exc:
            group.phase = Phase.FAILED
            return [Event(at, EventKind.SYSTEM, Severity.HIGH,
                          f"anomaly group {name}: not trained: {exc}", source="anomaly")]
        group.threshold = group.config.threshold or learned
        group.phase = Phase.SCORING
        log.info("anomaly group %s trained on %d rows, threshold %.3g", name,
                 group.trained_rows, group.threshold)
        return [Event(at, EventKind.SYSTEM, Severity.INFO,
                      f"anomaly group {name}: trained on {group.trained_rows} samples, "
                      f"threshold {group.threshold:.3g}", source="anomaly",
                      data={"anomaly": name, "threshold": group.threshold,
                            "trained_rows": group.trained_rows})]

    def _crossings(self, group: AnomalyGroup, ts: npt.NDArray[np.int64],
                   scores: npt.NDArray[np.float64],
                   contributions: npt.NDArray[np.float64]) -> list[Event]:
        above = scores > group.threshold
        previous = np.concatenate([[group.active], above[:-1]])
        changes = np.flatnonzero(above != previous)
        group.active = bool(above[-1]) if above.size else group.active
        return [self._event(group, int(ts[i]), float(scores[i]), contributions[i], bool(above[i]))
                for i in changes]

    def _event(self, group: AnomalyGroup, ts: int, score: float,
               contribution: npt.NDArray[np.float64], raised: bool) -> Event:
        name = group.config.name
        positive = np.clip(contribution, 0.0, None)
        total = float(positive.sum()) or 1.0
        top = np.argsort(-positive)[:TOP_SIGNALS]
        signals = [{"tag": group.paths[j], "share": round(float(positive[j]) / total, 3)}
                   for j in top if positive[j] > 0]
        named = ", ".join(f"{s['tag'].rsplit('/', 1)[-1]} {100 * float(s['share']):.0f} %"
                          for s in signals)
        data = {"anomaly": name, "method": group.config.method.value, "score": score,
                "threshold": group.threshold, "active": raised, "signals": signals}
        if raised:
            return Event(ts, EventKind.ALARM, Severity.MEDIUM,
                         f"anomaly in {name}: score {score:.3g} above {group.threshold:.3g}"
                         f" (top signals: {named or 'none'})", source="anomaly",
                         tag=group.score_path, data=data)
        return Event(ts, EventKind.ALARM, Severity.INFO,
                     f"anomaly in {name} cleared: score {score:.3g}", source="anomaly",
                     tag=group.score_path, data=data)

    # --- on the bus -----------------------------------------------------------------------
    async def run(self, subscription: Subscription,
                  publish_event: Callable[[Event], Awaitable[None]],
                  publish_samples: Callable[[SampleBatch], Awaitable[None]]
                  ) -> AnomalyEngineStats:
        """Consume `subscription` until the bus closes; events and score batches go out
        through a separate task (publishing onto the bus that feeds this loop must not wait
        on it). What finds the bus closed is kept in `stats.unpublished` (events only)."""
        await consume(subscription, self._outgoing, publish_event, publish_samples,
                      unpublished=self.stats.unpublished)
        return self.stats

    def _outgoing(self, message: Message) -> list[Outgoing]:
        if not isinstance(message, SampleBatch):
            return []
        out: list[Outgoing] = list(self.update(message))
        if len(self.derived):
            out.append(self.derived.take())
        return out
