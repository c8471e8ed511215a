"""The site file's efficiency sections: `timezone`, `shifts`, `spc`, `oee`, `energy` and
`maintenance` (quality, OEE per ISO 22400-2, energy per ISO 50001, the CMMS webhook).

Tags are named by their full ISA-95 path or by area/line/cell/asset/signal.
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from collections.abc import Collection, Iterator
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from isthmus.config.alarms import resolve_tag

__all__ = [
    "BaselineConfig",
    "EnergyConfig",
    "EnergyMeterConfig",
    "MaintenanceConfig",
    "OeeConfig",
    "OeeLineConfig",
    "ShiftConfig",
    "SpcChartConfig",
    "SpcConfig",
    "SpecLimits",
    "WebhookConfig",
    "check_efficiency_references",
    "check_timezone",
]

_NAME = r"^[a-z0-9][a-z0-9_-]*$"
_SCOPE = r"^[a-z0-9][a-z0-9_-]*/[a-z0-9][a-z0-9_-]*$"  # area/line
_CLOCK = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
SeverityName = Literal["info", "low", "medium", "high", "critical"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def check_timezone(name: str) -> str:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r} (use an IANA name such as "
                         "'Europe/Paris' or 'UTC')") from None
    return name


class ShiftConfig(_Strict):
    """A shift starts at `start` (local HH:MM) and lasts until the next shift starts.
    `planned_busy` (minutes) is its planned busy time (PBT); default: the whole shift."""

    name: Annotated[str, Field(pattern=_NAME)]
    start: str
    planned_busy: Annotated[float, Field(ge=0, le=1440)] | None = None

    @field_validator("start")
    @classmethod
    def _clock(cls, value: str) -> str:
        if not _CLOCK.match(value):
            raise ValueError(f"shift start {value!r} must be HH:MM (00:00 to 23:59)")
        return value

    @property
    def minute_of_day(self) -> int:
        hours, minutes = self.start.split(":")
        return int(hours) * 60 + int(minutes)


class SpecLimits(_Strict):
    """Specification limits of a quality characteristic (either side may be open)."""

    lsl: float | None = None
    usl: float | None = None
    target: float | None = None

    @model_validator(mode="after")
    def _ordered(self) -> SpecLimits:
        if self.lsl is None and self.usl is None:
            raise ValueError("spec needs lsl, usl or both")
        if self.lsl is not None and self.usl is not None and self.lsl >= self.usl:
            raise ValueError(f"spec lsl {self.lsl} must be below usl {self.usl}")
        return self


class SpcChartConfig(_Strict):
    """A control chart on a quality tag. Limits come from the baseline window
    (`baseline_start`..`baseline_end`) or else from the first `baseline_subgroups` points."""

    tag: str
    chart: Literal["xbar_r", "i_mr"] = "xbar_r"
    subgroup: Annotated[int, Field(ge=2, le=10)] = 5
    baseline_subgroups: Annotated[int, Field(ge=2, le=10_000)] = 25
    baseline_start: dt.datetime | None = None
    baseline_end: dt.datetime | None = None
    rules: Literal["nelson", "western_electric"] = "nelson"
    severity: SeverityName = "medium"
    spec: SpecLimits | None = Field(default=None, description="default: the tag's `spec`")

    @model_validator(mode="after")
    def _window(self) -> SpcChartConfig:
        if (self.baseline_start is None) != (self.baseline_end is None):
            raise ValueError("give both baseline_start and baseline_end, or neither")
        if self.baseline_start is not None and self.baseline_end is not None:
            if self.baseline_start.tzinfo is None or self.baseline_end.tzinfo is None:
                raise ValueError("baseline_start/baseline_end need a UTC offset (…Z or +01:00)")
            if self.baseline_start >= self.baseline_end:
                raise ValueError("baseline_start must be before baseline_end")
        return self


class SpcConfig(_Strict):
    charts: list[SpcChartConfig] = []


class OeeLineConfig(_Strict):
    """One line (work unit) for OEE. `state` values in `running` count as actual production
    time, values in `down` as failures (unplanned downtime); other values are neither.
    `ideal_cycle` is the planned run time per item (PRI) in seconds."""

    name: Annotated[str, Field(pattern=_SCOPE, description="area/line")]
    state: str
    running: list[float] = [1.0]
    down: list[float] = [2.0]
    good_count: str
    reject_count: str | None = None
    reason: str | None = Field(default=None, description="tag holding the stop reason code")
    reasons: dict[int, str] = {}
    ideal_cycle: Annotated[float, Field(gt=0)]

    @model_validator(mode="after")
    def _disjoint(self) -> OeeLineConfig:
        both = set(self.running) & set(self.down)
        if both:
            raise ValueError(f"state values {sorted(both)} are in both running and down")
        return self


class OeeConfig(_Strict):
    lines: list[OeeLineConfig] = []


class BaselineConfig(_Strict):
    """The baseline period of an energy regression E = a + b·production (+ c·variable)."""

    start: dt.datetime
    end: dt.datetime
    variable: str | None = Field(default=None, description="an optional relevant variable "
                                 "tag (its interval mean enters the regression)")

    @model_validator(mode="after")
    def _window(self) -> BaselineConfig:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("baseline start/end need a UTC offset (…Z or +01:00)")
        if self.start >= self.end:
            raise ValueError("baseline start must be before end")
        return self


class EnergyMeterConfig(_Strict):
    """An energy scope (the site, or an area/line) measured by a kWh counter or a kW tag."""

    name: Annotated[str, Field(pattern=_SCOPE,
                               description="area/line, e.g. packaging/line1 or site/main")]
    kwh: str | None = None
    kw: str | None = None
    production: list[str] = Field(default=[], description="unit counters (summed)")
    state: str | None = None
    producing: list[float] = [1.0]
    peak_limit_kw: Annotated[float, Field(gt=0)] | None = None
    baseline: BaselineConfig | None = None

    @model_validator(mode="after")
    def _one_source(self) -> EnergyMeterConfig:
        if (self.kwh is None) == (self.kw is None):
            raise ValueError("an energy meter needs exactly one of kwh (counter) or kw")
        return self


class EnergyConfig(_Strict):
    interval: Annotated[int, Field(ge=1, le=60, description="demand interval, minutes")] = 15
    meters: list[EnergyMeterConfig] = []


class WebhookConfig(_Strict):
    """POST each event at or above `min_severity` to `url`; `retries` failed attempts raise
    a system event, but the event stays in the outbox and keeps being retried."""

    url: Annotated[str, Field(pattern=r"^https?://")]
    min_severity: SeverityName = "high"
    timeout: Annotated[float, Field(gt=0, le=120)] = 5.0
    retries: Annotated[int, Field(ge=0, le=100)] = 5
    backoff: Annotated[float, Field(gt=0, le=60)] = 1.0
    max_backoff: Annotated[float, Field(gt=0, le=3600)] = 300.0


class MaintenanceConfig(_Strict):
    webhook: WebhookConfig | None = None


def _references(spc: SpcConfig, oee: OeeConfig,
                energy: EnergyConfig) -> Iterator[tuple[str, str]]:
    for i, chart in enumerate(spc.charts):
        yield f"spc.charts[{i}].tag", chart.tag
    for i, line in enumerate(oee.lines):
        for field in ("state", "good_count", "reject_count", "reason"):
            if (path := getattr(line, field)) is not None:
                yield f"oee.lines[{i}].{field}", path
    for i, meter in enumerate(energy.meters):
        for field in ("kwh", "kw", "state"):
            if (path := getattr(meter, field)) is not None:
                yield f"energy.meters[{i}].{field}", path
        for k, path in enumerate(meter.production):
            yield f"energy.meters[{i}].production[{k}]", path
        if meter.baseline is not None and meter.baseline.variable is not None:
            yield f"energy.meters[{i}].baseline.variable", meter.baseline.variable


def check_efficiency_references(spc: SpcConfig, oee: OeeConfig, energy: EnergyConfig,
                                prefix: str, known: Collection[str]) -> None:
    """Raise ValueError naming the first field whose tag is not a configured tag."""
    for where, path in _references(spc, oee, energy):
        if resolve_tag(prefix, path) not in known:
            raise ValueError(f"{where}: {path!r} is not a configured tag (write the full path "
                             f"{prefix}/area/line/cell/asset/signal, or area/line/cell/asset/"
                             "signal)")
