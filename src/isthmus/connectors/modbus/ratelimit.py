"""Token bucket that caps the request rate one device sees."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

__all__ = ["TokenBucket"]


class TokenBucket:
    """`rate` tokens per second, at most `burst` saved up; `acquire` waits for one."""

    def __init__(self, rate: float, *, burst: float | None = None,
                 clock: Callable[[], float] | None = None) -> None:
        if rate <= 0:
            raise ValueError(f"token bucket rate {rate} must be positive")
        self.rate = rate
        self.burst = burst if burst is not None else max(1.0, min(rate, 10.0))
        self._clock = clock or asyncio.get_running_loop().time
        self._tokens = self.burst
        self._stamp = self._clock()
        self.waits = 0

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now

    async def acquire(self) -> None:
        self._refill()
        if self._tokens < 1.0:
            self.waits += 1
            await asyncio.sleep((1.0 - self._tokens) / self.rate)
            self._refill()
        self._tokens -= 1.0
