"""ISO 22400-2 OEE figures of one work unit over one period, from its time and quantity
totals: availability = APT/PBT, effectiveness = PRI·PQ/APT, quality ratio = GQ/PQ,
OEE = their product; MTBF = APT / failures, MTTR = ADOT / failures."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["KPI_SIGNALS", "OeeTotals"]

#: the derived tag signals of a period, in report order
KPI_SIGNALS = ("availability", "effectiveness", "quality_ratio", "oee", "mtbf_s", "mttr_s",
               "pbt_s", "apt_s", "downtime_s", "failures", "pq", "gq")


@dataclass(slots=True)
class OeeTotals:
    """Totals of one period. `pbt_s` is the planned busy time (PBT), `apt_s` the actual
    production time (APT), `downtime_s` the actual unit down time (ADOT, failures only)."""

    pri_s: float  # planned run time per item
    pbt_s: float = 0.0
    apt_s: float = 0.0
    downtime_s: float = 0.0
    failures: int = 0
    pq: float = 0.0  # produced quantity
    gq: float = 0.0  # good quantity
    downtime_by_reason: dict[str, float] = field(default_factory=dict)

    def _ratio(self, top: float, bottom: float) -> float | None:
        return top / bottom if bottom > 0 else None

    @property
    def availability(self) -> float | None:
        return self._ratio(self.apt_s, self.pbt_s)

    @property
    def effectiveness(self) -> float | None:
        return self._ratio(self.pri_s * self.pq, self.apt_s)

    @property
    def quality_ratio(self) -> float | None:
        return self._ratio(self.gq, self.pq)

    @property
    def oee(self) -> float | None:
        parts = (self.availability, self.effectiveness, self.quality_ratio)
        if any(p is None for p in parts):
            return None
        a, e, q = parts
        assert a is not None and e is not None and q is not None
        return a * e * q

    @property
    def mtbf_s(self) -> float | None:
        return self._ratio(self.apt_s, self.failures)

    @property
    def mttr_s(self) -> float | None:
        return self._ratio(self.downtime_s, self.failures)

    def values(self) -> dict[str, float | None]:
        """Every KPI signal's value (None where undefined, e.g. no failures)."""
        out: dict[str, float | None] = {}
        for name in KPI_SIGNALS:
            value = getattr(self, name)
            out[name] = None if value is None else float(value)
        return out
