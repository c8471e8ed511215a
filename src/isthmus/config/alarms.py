"""The site file's `alarms:` section: ISA-18.2 alarm definitions on configured tags.

Times are in seconds. A tag is named by its full ISA-95 path or by area/line/cell/asset/signal
(the site's enterprise/site prefix is then added).
"""

from __future__ import annotations

import difflib
import enum
from collections.abc import Collection, Sequence
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = [
    "AlarmConfig",
    "AlarmKind",
    "Priority",
    "SuppressionConfig",
    "check_alarm_references",
    "resolve_tag",
]

_NAME = r"^[a-z0-9][a-z0-9_-]*$"
_DAY_S = 86400.0
Seconds = Annotated[float, Field(ge=0, le=7 * _DAY_S)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AlarmKind(enum.StrEnum):
    """What an alarm watches."""

    HI = "hi"
    HIHI = "hihi"
    LO = "lo"
    LOLO = "lolo"
    RATE = "rate"
    DEVIATION = "deviation"
    STATE = "state"
    BAD_QUALITY = "bad_quality"
    STALE = "stale"

    @property
    def needs_limit(self) -> bool:
        return self in (AlarmKind.HI, AlarmKind.HIHI, AlarmKind.LO, AlarmKind.LOLO,
                        AlarmKind.RATE, AlarmKind.DEVIATION)


class Priority(enum.StrEnum):
    """ISA-18.2 priorities, lowest first; the target mix is about 80/15/5 low/medium/high."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class SuppressionConfig(_Strict):
    """Suppression by design: the alarm is hidden while another tag meets a condition
    (e.g. the machine is stopped), and for `release_delay` seconds after it stops meeting it."""

    tag: str
    equals: float | None = None
    below: float | None = None
    above: float | None = None
    release_delay: Seconds = 0.0

    @model_validator(mode="after")
    def _one_condition(self) -> SuppressionConfig:
        given = [k for k in ("equals", "below", "above") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("suppress_when needs exactly one of equals, below or above, "
                             f"not {', '.join(given) or 'none'}")
        return self


class AlarmConfig(_Strict):
    """One alarm. `limit` is the trip point (hi/hihi/lo/lolo), the rate in units per second
    (rate) or the allowed distance from the setpoint (deviation)."""

    id: Annotated[str, Field(pattern=_NAME)]
    tag: str
    type: AlarmKind
    priority: Priority = Priority.MEDIUM
    limit: float | None = None
    deadband: Annotated[float, Field(ge=0)] = 0.0
    on_delay: Seconds = 0.0
    off_delay: Seconds = 0.0
    direction: Literal["both", "high", "low"] = "both"
    setpoint: float | str | None = None
    state: float | list[float] | None = None
    stale_after: Annotated[float, Field(gt=0, le=7 * _DAY_S)] | None = None
    suppress_when: SuppressionConfig | None = None
    area: Annotated[str, Field(pattern=_NAME)] | None = Field(
        default=None, description="operator position; default: the tag's ISA-95 area")
    max_shelve: Annotated[float, Field(gt=0, le=7 * _DAY_S)] = 12 * 3600.0
    message: str = ""

    @model_validator(mode="after")
    def _fields_fit_type(self) -> AlarmConfig:
        kind = self.type
        if kind.needs_limit and self.limit is None:
            raise ValueError(f"a {kind.value} alarm needs a limit")
        if kind == AlarmKind.RATE and self.limit is not None and self.limit <= 0:
            raise ValueError(f"a rate limit is a speed above zero (units per second), "
                             f"not {self.limit}")
        if kind == AlarmKind.DEVIATION:
            if self.setpoint is None:
                raise ValueError("a deviation alarm needs a setpoint: a number or a tag path")
            if self.limit is not None and self.limit <= 0:
                raise ValueError(f"a deviation limit is a distance above zero, not {self.limit}")
        elif self.setpoint is not None:
            raise ValueError(f"setpoint applies to deviation alarms, not {kind.value}")
        if (kind == AlarmKind.STATE) != (self.state is not None):
            raise ValueError("state (the value, or values, in alarm) is required for a state "
                             f"alarm and only there (this one is {kind.value})")
        if (kind == AlarmKind.STALE) != (self.stale_after is not None):
            raise ValueError("stale_after (seconds without a sample) is required for a stale "
                             f"alarm and only there (this one is {kind.value})")
        if self.direction != "both" and kind not in (AlarmKind.RATE, AlarmKind.DEVIATION):
            raise ValueError(f"direction applies to rate and deviation alarms, not {kind.value}")
        if not kind.needs_limit and self.limit is not None:
            raise ValueError(f"limit does not apply to a {kind.value} alarm")
        return self

    @property
    def alarm_states(self) -> tuple[float, ...]:
        if self.state is None:
            return ()
        return tuple(self.state) if isinstance(self.state, list) else (self.state,)


def resolve_tag(prefix: str, path: str) -> str:
    """A full tag path: `path` itself, or `prefix/path` when `path` starts at the area."""
    return f"{prefix}/{path}" if path.count("/") == 4 else path


def _references(alarm: AlarmConfig) -> list[tuple[str, str]]:
    refs = [("tag", alarm.tag)]
    if isinstance(alarm.setpoint, str):
        refs.append(("setpoint", alarm.setpoint))
    if alarm.suppress_when is not None:
        refs.append(("suppress_when.tag", alarm.suppress_when.tag))
    return refs


def check_alarm_references(alarms: Sequence[AlarmConfig], prefix: str,
                           known: Collection[str]) -> None:
    """Raise ValueError naming the first alarm whose id is used twice or whose tag, setpoint or
    suppression tag is not a configured tag."""
    seen: dict[str, int] = {}
    for index, alarm in enumerate(alarms):
        if alarm.id in seen:
            raise ValueError(f"alarms[{index}]: alarm id {alarm.id!r} is already used by "
                             f"alarms[{seen[alarm.id]}]")
        seen[alarm.id] = index
        for field, path in _references(alarm):
            full = resolve_tag(prefix, path)
            if full not in known:
                close = difflib.get_close_matches(full, list(known), n=1, cutoff=0.8)
                hint = f"; did you mean {close[0]!r}?" if close else (
                    f" (write the full path {prefix}/area/line/cell/asset/signal, or "
                    "area/line/cell/asset/signal)")
                raise ValueError(f"alarms[{index}] {alarm.id}: {field} {path!r} is not a "
                                 f"configured tag{hint}")
