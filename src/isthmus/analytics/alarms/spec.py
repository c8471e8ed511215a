"""Alarm definitions resolved against the tag namespace: tag ids, nanosecond delays, and the
numbers the vectorised evaluation needs, ready for the engine."""

from __future__ import annotations

import math
from dataclasses import dataclass

from isthmus.config.alarms import AlarmConfig, AlarmKind, Priority, resolve_tag
from isthmus.config.schema import SiteConfig
from isthmus.model import Severity, TagRegistry

__all__ = ["AlarmSpec", "SuppressionSpec", "alarm_specs", "severity_of"]

_NS = 1_000_000_000


def _ns(seconds: float) -> int:
    return round(seconds * _NS)


def severity_of(priority: Priority) -> Severity:
    return {Priority.LOW: Severity.LOW, Priority.MEDIUM: Severity.MEDIUM,
            Priority.HIGH: Severity.HIGH, Priority.CRITICAL: Severity.CRITICAL}[priority]


@dataclass(frozen=True, slots=True)
class SuppressionSpec:
    tag: str
    tag_id: int
    op: str  # "eq", "lt" or "gt"
    value: float
    release_delay_ns: int


@dataclass(frozen=True, slots=True)
class AlarmSpec:
    """One alarm, resolved. `limit` is NaN for kinds without a limit."""

    id: str
    tag: str
    tag_id: int
    kind: AlarmKind
    priority: Priority
    area: str
    limit: float
    deadband: float
    on_delay_ns: int
    off_delay_ns: int
    direction: str
    setpoint_value: float  # NaN when the setpoint is a tag
    setpoint_tag: str | None
    setpoint_tag_id: int
    states: tuple[float, ...]
    stale_after_ns: int
    suppression: SuppressionSpec | None
    max_shelve_ns: int
    message: str

    @property
    def asset(self) -> str:
        return self.tag.rsplit("/", 1)[0]


def _suppression(config: AlarmConfig, prefix: str,
                 registry: TagRegistry) -> SuppressionSpec | None:
    cond = config.suppress_when
    if cond is None:
        return None
    tag = resolve_tag(prefix, cond.tag)
    op, value = next((op, v) for op, v in (("eq", cond.equals), ("lt", cond.below),
                                             ("gt", cond.above)) if v is not None)
    return SuppressionSpec(tag, registry.id_of(tag), op, float(value),
                           _ns(cond.release_delay))


def _spec(config: AlarmConfig, prefix: str, registry: TagRegistry) -> AlarmSpec:
    tag = resolve_tag(prefix, config.tag)
    setpoint_tag = resolve_tag(prefix, config.setpoint) if isinstance(config.setpoint,
                                                                      str) else None
    area = config.area or tag.split("/")[2]
    return AlarmSpec(
        id=config.id, tag=tag, tag_id=registry.id_of(tag), kind=config.type,
        priority=config.priority, area=area,
        limit=math.nan if config.limit is None else float(config.limit),
        deadband=config.deadband, on_delay_ns=_ns(config.on_delay),
        off_delay_ns=_ns(config.off_delay), direction=config.direction,
        setpoint_value=(float(config.setpoint) if isinstance(config.setpoint, int | float)
                        else math.nan),
        setpoint_tag=setpoint_tag,
        setpoint_tag_id=-1 if setpoint_tag is None else registry.id_of(setpoint_tag),
        states=config.alarm_states,
        stale_after_ns=0 if config.stale_after is None else _ns(config.stale_after),
        suppression=_suppression(config, prefix, registry),
        max_shelve_ns=_ns(config.max_shelve), message=config.message,
    )


def alarm_specs(site: SiteConfig, registry: TagRegistry) -> list[AlarmSpec]:
    """The site's alarms resolved against `registry` (UnknownTagError names a missing tag)."""
    prefix = f"{site.enterprise}/{site.site}"
    return [_spec(config, prefix, registry) for config in site.alarms]
