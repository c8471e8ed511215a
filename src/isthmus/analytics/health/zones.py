"""Vibration severity zones (ISO 10816-1) as data, and the mapping from a signal's level to a
health figure between 100 (as new) and 0 (at the failure level).

Zone boundaries, r.m.s. vibration velocity in mm/s (10-1000 Hz), are the typical limits of
ISO 10816-1:1995, Annex B, Table B.1 (since replaced by ISO 20816-1:2016, which keeps the
zone scheme and leaves limits to the machine-specific parts): zone A newly commissioned,
B acceptable for long-term operation, C not suitable for long-term operation, D severe
enough to cause damage."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from isthmus.config.health import Iso10816Class

__all__ = ["ISO10816_ZONES", "HealthScale", "ZoneBoundaries"]


@dataclass(frozen=True, slots=True)
class ZoneBoundaries:
    ab: float
    bc: float
    cd: float


ISO10816_ZONES: dict[Iso10816Class, ZoneBoundaries] = {
    Iso10816Class.I: ZoneBoundaries(ab=0.71, bc=1.8, cd=4.5),
    Iso10816Class.II: ZoneBoundaries(ab=1.12, bc=2.8, cd=7.1),
    Iso10816Class.III: ZoneBoundaries(ab=1.8, bc=4.5, cd=11.2),
    Iso10816Class.IV: ZoneBoundaries(ab=2.8, bc=7.1, cd=18.0),
}

#: health at each zone's upper boundary: A/B, B/C, C/D (documented in docs/analytics.md)
ZONE_HEALTH = (90.0, 70.0, 30.0)


@dataclass(frozen=True, slots=True)
class HealthScale:
    """Piecewise-linear level → health. `levels` increase (in units of `sign` × level, so a
    signal that falls as it degrades, e.g. a flow, has sign -1); `health` decreases."""

    levels: tuple[float, ...]
    health: tuple[float, ...]
    sign: float = 1.0

    @classmethod
    def linear(cls, healthy: float, limit: float) -> HealthScale:
        sign = 1.0 if healthy < limit else -1.0
        return cls((sign * healthy, sign * limit), (100.0, 0.0), sign)

    @classmethod
    def iso10816(cls, zones: ZoneBoundaries, *, healthy: float, failure: float) -> HealthScale:
        """100 at `healthy`, 90/70/30 at the zone boundaries A/B, B/C, C/D that lie between
        it and the failure level, 0 at the failure level."""
        if not healthy < failure:
            raise ValueError(f"health scale: healthy level {healthy} must be below the "
                             f"failure level {failure}")
        knots = [(healthy, 100.0)]
        for level, health in zip((zones.ab, zones.bc, zones.cd), ZONE_HEALTH, strict=True):
            if healthy < level < failure:
                knots.append((level, health))
        knots.append((failure, 0.0))
        return cls(tuple(k[0] for k in knots), tuple(k[1] for k in knots))

    def __call__(self, level: float) -> float:
        return float(np.interp(self.sign * level, self.levels, self.health))
