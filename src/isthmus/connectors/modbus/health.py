"""Counters a link keeps, and the health snapshot the connector reports."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["LinkStats", "ModbusHealth"]


@dataclass(frozen=True, slots=True)
class ModbusHealth:
    """A snapshot of one link's health (one connector)."""

    link: str
    connected: bool
    last_error: str | None
    requests: int
    responses: int
    timeouts: int
    exceptions: int
    overruns: int
    reconnects: int
    unexpected_errors: int
    range_exceeded: int
    request_rate: float
    latency_ms_p50: float | None
    latency_ms_p95: float | None
    units_down: int
    tags_per_s: float
    holes: int
    unreadable_points: int


@dataclass
class LinkStats:
    """Mutable counters; `window_s` is the span over which rates are measured."""

    window_s: float = 5.0
    connected: bool = False
    last_error: str | None = None
    requests: int = 0
    responses: int = 0
    timeouts: int = 0
    exceptions: int = 0
    overruns: int = 0
    reconnects: int = 0
    unexpected_errors: int = 0
    range_exceeded: int = 0
    request_rate: float = 0.0
    tags_per_s: float = 0.0
    _latency: np.ndarray = field(default_factory=lambda: np.full(512, np.nan))
    _latency_n: int = 0
    _window_start: float | None = None
    _window_requests: int = 0
    _window_tags: int = 0

    def response(self, latency_s: float, tags: int, now: float) -> None:
        self.responses += 1
        self._latency[self._latency_n % len(self._latency)] = latency_s * 1000.0
        self._latency_n += 1
        self._window_tags += tags
        self._tick(now)

    def request(self, now: float) -> None:
        self.requests += 1
        self._window_requests += 1
        self._tick(now)

    def _tick(self, now: float) -> None:
        if self._window_start is None:
            self._window_start = now
            return
        elapsed = now - self._window_start
        if elapsed >= self.window_s:
            self.request_rate = self._window_requests / elapsed
            self.tags_per_s = self._window_tags / elapsed
            self._window_start, self._window_requests, self._window_tags = now, 0, 0

    def latency_percentiles(self) -> tuple[float | None, float | None]:
        seen = self._latency[~np.isnan(self._latency)]
        if len(seen) == 0:
            return None, None
        p50, p95 = np.percentile(seen, [50, 95])
        return float(p50), float(p95)
