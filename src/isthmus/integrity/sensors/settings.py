"""The site file's `integrity:` section: which tags the sensor-tamper detectors watch, how
they learn a clean baseline, their thresholds, and the declared physical relationships.

Pure pydantic (no other Isthmus import), so that `config.schema` can embed it. Times are in
seconds; tags are full ISA-95 paths or area/line/cell/asset/signal.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = [
    "BalanceRelation",
    "IntegralRelation",
    "IntegrityConfig",
    "LearnWindow",
    "LinearRelation",
    "NoiseSettings",
    "RedundantRelation",
    "Relation",
    "ReplaySettings",
    "SensorSettings",
    "SpikeSettings",
    "StuckSettings",
    "check_relation_tags",
]

Seconds = Annotated[float, Field(gt=0, le=30 * 86400.0)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class LearnWindow(_Strict):
    """The clean period baselines are learned from: the first `first` seconds of live data,
    or a stored period `from`..`to` read back from the historian when the gateway starts."""

    first: Seconds = 6 * 3600.0
    start: datetime | None = Field(default=None, alias="from")
    end: datetime | None = Field(default=None, alias="to")

    @model_validator(mode="after")
    def _both_or_neither(self) -> LearnWindow:
        if (self.start is None) != (self.end is None):
            raise ValueError("learn needs both `from` and `to`, or neither")
        if self.start is not None and self.end is not None and self.start >= self.end:
            raise ValueError(f"learn: `from` {self.start} is not before `to` {self.end}")
        return self


class _Detector(_Strict):
    enabled: bool = True
    exclude: list[str] = Field(default=[], description="tags (globs) this detector skips")


class StuckSettings(_Detector):
    """A value unchanged for longer than `min_samples` expected samples and `factor` times
    the longest unchanged run seen while learning."""

    min_samples: Annotated[int, Field(ge=2)] = 30
    factor: Annotated[float, Field(ge=1)] = 6.0


class SpikeSettings(_Detector):
    """Robust z of a sample against the median and MAD of the `window` samples before it;
    at most `max_width` outlying samples that then return are a spike (longer is a step)."""

    window: Annotated[int, Field(ge=8, le=1024)] = 31
    z: Annotated[float, Field(gt=0)] = 12.0
    max_width: Annotated[int, Field(ge=1, le=64)] = 5


class NoiseSettings(_Detector):
    """Noise level (MAD of second differences over `window` samples) against the learned
    level: above `high` × learned is a noise change; below `low` × learned, on a signal
    that is still moving, is a frozen noise-free signal. `persist` windows in a row."""

    window: Annotated[int, Field(ge=16, le=4096)] = 120
    high: Annotated[float, Field(gt=1)] = 4.0
    low: Annotated[float, Field(gt=0, lt=1)] = 0.15
    persist: Annotated[int, Field(ge=1)] = 3


class ReplaySettings(_Detector):
    """A window of `length` samples identical to one seen before (fingerprints of up to
    `history` earlier windows per tag, one every `stride` samples)."""

    length: Annotated[int, Field(ge=8, le=512)] = 24
    stride: Annotated[int, Field(ge=1, le=64)] = 4
    history: Annotated[int, Field(ge=16, le=1_000_000)] = 50_000


class SensorSettings(_Strict):
    """Per-tag detectors, on the tags matching `tags` (glob patterns) and not `exclude`;
    boolean tags are never watched."""

    tags: list[str] = ["*"]
    exclude: list[str] = []
    stuck: StuckSettings = StuckSettings()
    spike: SpikeSettings = SpikeSettings()
    noise: NoiseSettings = NoiseSettings()
    replay: ReplaySettings = ReplaySettings()


class _Relation(_Strict):
    name: str | None = None
    tolerance: Annotated[float, Field(gt=0)] | None = Field(
        default=None, description="residual beyond this is inconsistent; default: learned")
    hold: Seconds = Field(default=60.0, description="how long the residual must stay out")


class RedundantRelation(_Relation):
    """Two sensors of one quantity: `a` − `b` stays near its learned offset."""

    kind: Literal["redundant"]
    a: str
    b: str


class LinearRelation(_Relation):
    """`target` ≈ c0 + Σ cᵢ·inputᵢ, coefficients fitted on the learning period."""

    kind: Literal["linear"]
    target: str
    inputs: Annotated[list[str], Field(min_length=1, max_length=8)]
    intercept: bool = Field(default=True, description="false: zero inputs mean zero target")


class IntegralRelation(_Relation):
    """A running total against its integrated rate: Δ`total` over `horizon` ≈
    `gain` × ∫ `rate` dt (hours when `per` is h), gain learned unless given."""

    kind: Literal["integral"]
    total: str
    rate: str
    per: Literal["s", "min", "h"] = "h"
    gain: float | None = None
    horizon: Seconds = 600.0


class BalanceRelation(_Relation):
    """A level against its flows: Δ`level` over `horizon` ≈ ∫(inflow − outflow) dt / area."""

    kind: Literal["balance"]
    level: str
    inflow: str
    outflow: str
    area: Annotated[float, Field(gt=0)]
    per: Literal["s", "min", "h"] = "h"
    horizon: Seconds = 600.0


Relation = Annotated[RedundantRelation | LinearRelation | IntegralRelation | BalanceRelation,
                     Field(discriminator="kind")]


class IntegrityConfig(_Strict):
    """The whole `integrity:` section (absent: no detector runs)."""

    learn: LearnWindow = LearnWindow()
    sensors: SensorSettings = SensorSettings()
    relations: list[Relation] = []
    drift_time_constant: Seconds = Field(
        default=1800.0, description="time constant of the residuals' drift average (EWMA)")
    margin: Annotated[float, Field(ge=1)] = Field(
        default=2.0, description="learned limits are this many times the worst seen")


def check_relation_tags(config: IntegrityConfig, prefix: str, known: set[str]) -> None:
    """Raise naming the first relation that refers to a tag not in `known` (full paths);
    tags may be written with or without the `prefix` (enterprise/site)."""
    for index, relation in enumerate(config.relations):
        names = {"redundant": ("a", "b"), "linear": ("target",), "integral": ("total", "rate"),
                 "balance": ("level", "inflow", "outflow")}[relation.kind]
        refs = [(n, getattr(relation, n)) for n in names]
        if isinstance(relation, LinearRelation):
            refs += [(f"inputs[{i}]", t) for i, t in enumerate(relation.inputs)]
        for field_name, tag in refs:
            full = tag if tag.count("/") == 6 else f"{prefix}/{tag.strip('/')}"
            if full not in known:
                raise ValueError(f"integrity.relations[{index}] ({relation.kind}): "
                                 f"{field_name} {tag!r} is not a configured tag")
