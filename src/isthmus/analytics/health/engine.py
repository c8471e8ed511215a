"""The health engine: a streaming component on the bus that keeps, per configured asset, the
decimated history of its degradation signal and writes the health index and the remaining
useful life (with its interval) as derived tags each time a step closes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from isthmus.analytics.anomaly.engine import score_tag_path
from isthmus.analytics.derived import DerivedSamples
from isthmus.analytics.health.assessment import AssetAssessment, AssetHealth
from isthmus.analytics.streaming import Outgoing, consume
from isthmus.bus import Message, Subscription
from isthmus.config.health import asset_path
from isthmus.config.schema import SiteConfig
from isthmus.model import Event, SampleBatch, Tag, TagRegistry

__all__ = ["HEALTH_FIGURES", "HealthEngine", "HealthStats", "health_derived_tags"]

HEALTH_FIGURES = {"index": "health index, 0-100",
                  "rul_hours": "remaining useful life, h",
                  "rul_low": "RUL, lower bound of the 80 % interval, h",
                  "rul_high": "RUL, upper bound of the 80 % interval, h"}
_BAD = np.uint32(0x80000000)


def _asset_paths(site: SiteConfig) -> list[str]:
    prefix = f"{site.enterprise}/{site.site}"
    return [asset_path(prefix, a.asset) for a in site.health.assets]


def health_derived_tags(site: SiteConfig) -> list[Tag]:
    """`<asset>/health_<index|rul_hours|rul_low|rul_high>` of every configured asset (a tag
    path has exactly seven segments, so the figures are signals of the asset)."""
    return [Tag(f"{path}/health_{name}", unit="%" if name == "index" else "h",
                description=text, source={"connector": "analytics", "component": "health"})
            for path in _asset_paths(site) for name, text in HEALTH_FIGURES.items()]


@dataclass(slots=True)
class HealthStats:
    batches: int = 0
    assessments: int = 0
    events: int = 0
    unpublished: list[Event] = field(default_factory=list)


# what a watched tag is to an asset, in the order a batch is applied: the running gate
# first, the degradation signal (whose closed steps trigger an assessment) last
_GATE, _SIGNAL, _ANOMALY, _DEGRADATION = range(4)


class HealthEngine:
    """`update(batch)` returns the events it caused; derived samples collect in `derived`;
    `observe(event)` learns anomaly thresholds from the anomaly engine's events."""

    def __init__(self, site: SiteConfig, registry: TagRegistry) -> None:
        prefix = f"{site.enterprise}/{site.site}"
        groups = {g.name: g for g in site.analytics.anomaly}
        self.assets: list[AssetAssessment] = []
        for config, path in zip(site.health.assets, _asset_paths(site), strict=True):
            group = groups.get(config.anomaly or "")
            self.assets.append(AssetAssessment.of(
                config, prefix=prefix, asset=path,
                anomaly_path=None if group is None else score_tag_path(site, group)))
        self._roles: dict[int, list[tuple[int, AssetAssessment, str]]] = {}
        for asset in self.assets:
            watched: list[tuple[int, str | None]] = [
                (_GATE, asset.running_path), (_DEGRADATION, asset.degradation_path),
                *((_SIGNAL, p) for p in {**asset.signals, **asset.inputs}),
                (_ANOMALY, asset.anomaly_path)]
            for role, tag in watched:
                if tag is not None and tag in registry:
                    self._roles.setdefault(registry.id_of(tag), []).append((role, asset, tag))
        size = max(self._roles, default=-1) + 1
        self._watched = np.zeros(size, dtype=bool)
        self._watched[list(self._roles)] = True
        self.derived = DerivedSamples(registry)
        self.stats = HealthStats()

    def status(self) -> list[AssetHealth | None]:
        """The latest figures of each asset, in configuration order."""
        return [a.latest for a in self.assets]

    def update(self, batch: SampleBatch) -> list[Event]:
        self.stats.batches += 1
        tag = batch.tag_id
        inside = (tag >= 0) & (tag < self._watched.size)
        mine = np.flatnonzero(inside & self._watched[np.where(inside, tag, 0)]
                              & ((batch.quality & _BAD) == 0))
        if not mine.size:
            return []
        order = mine[np.argsort(tag[mine], kind="stable")]
        ids, starts = np.unique(tag[order], return_index=True)
        bounds = [*starts.tolist(), order.size]
        work = sorted(((role, k, asset, path) for k, i in enumerate(ids.tolist())
                       for role, asset, path in self._roles[i]), key=lambda w: (w[0], w[1]))
        for role, k, asset, path in work:
            rows = order[bounds[k]:bounds[k + 1]]
            self._feed(role, asset, path, batch.ts[rows], batch.value[rows])
        events = [e for a in self.assets for e in a.events]
        for asset in self.assets:
            asset.events.clear()
        self.stats.events += len(events)
        return events

    def _feed(self, role: int, asset: AssetAssessment, path: str,
              ts: npt.NDArray[np.int64], values: npt.NDArray[np.float64]) -> None:
        finite = np.isfinite(values)
        ts, values = ts[finite], values[finite]
        if not ts.size:
            return
        if role == _GATE:
            asset.running = bool(values[-1] > 0.5)
        elif role == _ANOMALY:
            asset.anomaly_score = float(values[-1])
        elif role == _SIGNAL:
            asset.add_signal(path, ts, values)
        else:
            for health in asset.add_degradation(ts, values):
                self._write(health)

    def _write(self, health: AssetHealth) -> None:
        self.stats.assessments += 1
        self.derived.add(f"{health.asset}/health_index", health.ts, health.index)
        rul = health.rul_hours()
        if rul is not None:
            for name, value in zip(("rul_hours", "rul_low", "rul_high"), rul, strict=True):
                self.derived.add(f"{health.asset}/health_{name}", health.ts, value)

    def observe(self, event: Event) -> None:
        """The anomaly engine reports each group's threshold when trained and in its
        alarms; an asset without a configured `anomaly_threshold` takes it from there."""
        name = event.data.get("anomaly") if event.source == "anomaly" else None
        threshold = event.data.get("threshold")
        if name is None or not isinstance(threshold, int | float):
            return
        for asset in self.assets:
            if asset.config.anomaly == name and asset.config.anomaly_threshold is None:
                asset.anomaly_threshold = float(threshold)

    # --- on the bus -----------------------------------------------------------------------
    async def run(self, subscription: Subscription,
                  publish_event: Callable[[Event], Awaitable[None]],
                  publish_samples: Callable[[SampleBatch], Awaitable[None]]) -> HealthStats:
        """Consume `subscription` (durable) until the bus closes; events and derived samples
        go out through a separate task, so publishing never waits on this consumer's own
        queue. Events that find the bus closed are kept in `stats.unpublished`."""
        await consume(subscription, self._outgoing, publish_event, publish_samples,
                      unpublished=self.stats.unpublished)
        return self.stats

    def _outgoing(self, message: Message) -> list[Outgoing]:
        if isinstance(message, Event):
            self.observe(message)
            return []
        out: list[Outgoing] = list(self.update(message))
        if len(self.derived):
            out.append(self.derived.take())
        return out
