"""The site file's `analytics: anomaly:` section: groups of tags watched for anomalies, each
trained on a declared clean period (its first samples, or a time range).

A tag is named by its full ISA-95 path or by area/line/cell/asset/signal."""

from __future__ import annotations

import difflib
import enum
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from isthmus.config.alarms import resolve_tag

__all__ = [
    "AnalyticsConfig",
    "AnomalyGroupConfig",
    "AnomalyMethod",
    "TrainingConfig",
    "check_anomaly_references",
]

_NAME = r"^[a-z0-9][a-z0-9_-]*$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class AnomalyMethod(enum.StrEnum):
    ROBUST_Z = "robust_z"  # each tag against the median/MAD of its recent normal samples
    SEASONAL = "seasonal"  # each tag against its hour-of-week profile from training
    PCA = "pca"  # the group's joint behaviour: PCA T² and SPE on window features


class TrainingConfig(_Strict):
    """The clean period: the first `samples` rows of the group, or `from`–`to`."""

    samples: Annotated[int, Field(ge=3, le=1_000_000)] | None = None
    start: datetime | None = Field(default=None, alias="from")
    end: datetime | None = Field(default=None, alias="to")

    @model_validator(mode="after")
    def _one_kind(self) -> TrainingConfig:
        timed = self.start is not None or self.end is not None
        if timed == (self.samples is not None):
            raise ValueError("train: give either `samples: N` or `from:` and `to:`")
        if not timed:
            return self
        if self.start is None or self.end is None:
            raise ValueError("train: `from` and `to` must both be given")
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("train: `from` and `to` need a UTC offset (e.g. "
                             "2026-11-02T00:00:00Z), or the period depends on the machine")
        if self.end <= self.start:
            raise ValueError("train: `to` must be after `from`")
        return self


class AnomalyGroupConfig(_Strict):
    name: Annotated[str, Field(pattern=_NAME)]
    tags: Annotated[list[str], Field(min_length=1)]
    method: AnomalyMethod = AnomalyMethod.PCA
    train: TrainingConfig = TrainingConfig(samples=600)
    threshold: Annotated[float, Field(gt=0)] | None = Field(
        default=None, description="score above which an event is raised; default: robust_z "
        "and seasonal 6 (robust z units), pca learned from the training scores")
    window: Annotated[int, Field(ge=2, le=10_000)] = 120
    description: str = ""

    @model_validator(mode="after")
    def _pca_needs_two(self) -> AnomalyGroupConfig:
        if self.method == AnomalyMethod.PCA and len(set(self.tags)) < 2:
            raise ValueError(f"anomaly group {self.name}: pca needs at least 2 tags")
        if len(set(self.tags)) != len(self.tags):
            raise ValueError(f"anomaly group {self.name}: a tag is listed twice")
        return self


class AnalyticsConfig(_Strict):
    anomaly: list[AnomalyGroupConfig] = []


def check_anomaly_references(groups: Sequence[AnomalyGroupConfig], prefix: str,
                             known: Collection[str]) -> None:
    """Every group tag must be configured; names must be unique."""
    names: set[str] = set()
    for group in groups:
        if group.name in names:
            raise ValueError(f"anomaly group name {group.name!r} appears twice")
        names.add(group.name)
        for tag in group.tags:
            path = resolve_tag(prefix, tag)
            if path not in known:
                close = difflib.get_close_matches(path, list(known), n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                raise ValueError(f"anomaly group {group.name}: unknown tag {tag!r}{hint}")
