"""Per-unit circuit breaker and capped exponential backoff with seeded jitter."""

from __future__ import annotations

import random
from dataclasses import dataclass

__all__ = ["Backoff", "UnitBreaker"]


@dataclass
class Backoff:
    """Delays base·2^k capped at `cap`, each scaled by a jitter factor in [0.75, 1.25)."""

    base: float
    cap: float
    rng: random.Random
    attempts: int = 0

    def next_delay(self) -> float:
        delay = min(self.cap, self.base * 2.0 ** min(self.attempts, 30))
        self.attempts += 1
        return delay * (0.75 + 0.5 * self.rng.random())

    def reset(self) -> None:
        self.attempts = 0


class UnitBreaker:
    """After `threshold` consecutive failures a unit is demoted: it is skipped, except for
    one probe request each time its backoff delay has passed, while the link serves the
    other units. One success restores it."""

    def __init__(self, *, threshold: int, backoff: Backoff) -> None:
        if threshold < 1:
            raise ValueError(f"breaker threshold {threshold} must be at least 1")
        self.threshold = threshold
        self.backoff = backoff
        self.failures = 0
        self.down = False
        self.retry_at = 0.0

    def allows(self, now: float) -> bool:
        """Whether the unit may be polled at monotonic time `now`."""
        return not self.down or now >= self.retry_at

    def record_success(self) -> bool:
        """Note a good response; True if the unit just came back up."""
        was_down = self.down
        self.failures = 0
        self.down = False
        self.backoff.reset()
        return was_down

    def record_failure(self, now: float) -> bool:
        """Note a failed request; True if the unit was just demoted."""
        self.failures += 1
        if self.down:
            self.retry_at = now + self.backoff.next_delay()
            return False
        if self.failures >= self.threshold:
            self.down = True
            self.retry_at = now + self.backoff.next_delay()
            return True
        return False
