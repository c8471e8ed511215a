"""The site file's `health:` section: per asset, the degradation signal whose trend gives the
remaining useful life, the other signals whose level lowers the health index, and optionally
the anomaly group whose score does.

A tag is named by its signal name under the asset (`bearing_vibration`), by
area/line/cell/asset/signal, or by its full ISA-95 path."""

from __future__ import annotations

import difflib
import enum
from collections.abc import Collection, Sequence
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from isthmus.config.alarms import resolve_tag
from isthmus.config.security import Seconds

__all__ = [
    "AssetHealthConfig",
    "DegradationConfig",
    "HealthConfig",
    "Iso10816Class",
    "SignalLimitConfig",
    "asset_path",
    "check_health_references",
    "signal_path",
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Iso10816Class(enum.StrEnum):
    """Machine classes of ISO 10816-1 (zone boundaries: isthmus.analytics.health.zones)."""

    I = "I"  # noqa: E741 - the standard's name: small machines, up to 15 kW
    II = "II"  # medium machines, 15-75 kW (up to 300 kW on special foundations)
    III = "III"  # large machines on rigid foundations
    IV = "IV"  # large machines on soft foundations


class SignalLimitConfig(_Strict):
    """A signal whose smoothed level maps linearly to health: 100 at `healthy`, 0 at `limit`."""

    tag: str
    healthy: float
    limit: float

    @model_validator(mode="after")
    def _distinct(self) -> SignalLimitConfig:
        if self.healthy == self.limit:
            raise ValueError(f"signal {self.tag}: `healthy` and `limit` must differ")
        return self


class DegradationConfig(_Strict):
    tag: str
    threshold: float | None = Field(
        default=None, description="failure level; default: the ISO 10816 zone C/D boundary")
    iso10816: Iso10816Class | None = None
    healthy: float = Field(default=0.0, description="level of a new machine (health 100)")
    model: Literal["trend", "learned"] = Field(
        default="trend", description="trend extrapolation, or a model learned on "
        "run-to-failure histories (`model_file`, `sensors`)")
    model_file: str | None = Field(
        default=None, description="learned: a file from `isthmus analytics rul --save`")
    sensors: list[str] = Field(
        default=[], description="learned: the tags of the model's sensor columns, in order")
    horizon: Annotated[Seconds, Field(gt=0)] = 7 * 86400.0
    window: Annotated[Seconds, Field(gt=0)] = 2 * 86400.0
    resolution: Annotated[Seconds, Field(gt=0)] = 600.0
    running: str | None = Field(
        default=None, description="tag that is > 0.5 while the machine runs; samples taken "
        "while it is not are left out of the trend")

    @model_validator(mode="after")
    def _consistent(self) -> DegradationConfig:
        if self.model == "learned" and (self.model_file is None or not self.sensors):
            raise ValueError(f"degradation of {self.tag}: model `learned` needs `model_file` "
                             "and `sensors` (the tags of the model's sensor columns)")
        if self.threshold is None and self.iso10816 is None:
            raise ValueError(f"degradation of {self.tag}: give `threshold` or `iso10816`")
        if self.window < 6 * self.resolution:
            raise ValueError(f"degradation of {self.tag}: `window` must hold at least 6 "
                             f"`resolution` steps for a trend fit")
        if self.window / self.resolution > 2000:
            raise ValueError(f"degradation of {self.tag}: `window` / `resolution` is "
                             f"{self.window / self.resolution:.0f} steps; at most 2000")
        return self


class AssetHealthConfig(_Strict):
    asset: str = Field(description="area/line/cell/asset or the full path")
    degradation: DegradationConfig
    signals: list[SignalLimitConfig] = []
    anomaly: str | None = Field(default=None, description="anomaly group whose score lowers "
                                "the health index")
    anomaly_threshold: Annotated[float, Field(gt=0)] | None = Field(
        default=None, description="the group's threshold; default: the one it reports when "
        "trained or configured")


class HealthConfig(_Strict):
    assets: list[AssetHealthConfig] = []


def asset_path(prefix: str, asset: str) -> str:
    return f"{prefix}/{asset}" if asset.count("/") == 3 else asset


def signal_path(prefix: str, asset: str, tag: str) -> str:
    """A tag named under the asset, from the area, or in full."""
    return f"{asset_path(prefix, asset)}/{tag}" if "/" not in tag else resolve_tag(prefix, tag)


def check_health_references(health: HealthConfig, prefix: str, known: Collection[str],
                            anomaly_groups: Sequence[str]) -> None:
    """Every tag must be configured, every asset listed once, anomaly groups must exist."""
    seen: set[str] = set()
    for index, item in enumerate(health.assets):
        where = f"health.assets[{index}] ({item.asset})"
        path = asset_path(prefix, item.asset)
        if path.count("/") != 5:
            raise ValueError(f"{where}: asset must be area/line/cell/asset or a full path "
                             f"enterprise/site/area/line/cell/asset")
        if path in seen:
            raise ValueError(f"{where}: asset listed twice")
        seen.add(path)
        tags = [item.degradation.tag, *(s.tag for s in item.signals),
                *item.degradation.sensors]
        if item.degradation.running is not None:
            tags.append(item.degradation.running)
        for tag in tags:
            full = signal_path(prefix, item.asset, tag)
            if full not in known:
                close = difflib.get_close_matches(full, list(known), n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                raise ValueError(f"{where}: unknown tag {tag!r}{hint}")
        if item.anomaly is not None and item.anomaly not in anomaly_groups:
            names = ", ".join(anomaly_groups) or "none configured"
            raise ValueError(f"{where}: unknown anomaly group {item.anomaly!r} "
                             f"(analytics.anomaly groups: {names})")
