"""Pure scheduling logic: phase spreading, overrun counting, breaker and backoff."""

from __future__ import annotations

import random

from isthmus.connectors.modbus.breaker import Backoff, UnitBreaker
from isthmus.connectors.modbus.scheduler import CycleScheduler


def test_phases_spread_items_of_one_period_across_it() -> None:
    scheduler: CycleScheduler[int] = CycleScheduler(rng=random.Random(1))
    scheduler.reset([(i, 1.0) for i in range(10)], now=100.0)
    dues = []
    for _ in range(10):
        dues.append(scheduler.next_due())
        scheduler.pop_due(scheduler.next_due())
    assert all(100.0 + i / 10 <= due < 100.0 + (i + 1) / 10 for i, due in enumerate(dues))


def test_late_start_counts_every_missed_cycle_as_an_overrun() -> None:
    scheduler: CycleScheduler[str] = CycleScheduler(rng=random.Random(1))
    scheduler.reset([("a", 1.0)], now=0.0)
    first = scheduler.next_due()
    assert scheduler.pop_due(first) == "a" and scheduler.overruns == 0
    assert scheduler.next_due() == first + 1.0
    scheduler.pop_due(first + 3.5)          # due at first+1, started 2.5 periods late
    assert scheduler.overruns == 2
    assert scheduler.next_due() == first + 4.0   # phase kept


def test_backoff_is_capped_and_reproducible_with_a_seed() -> None:
    delays = [Backoff(1.0, 8.0, random.Random(3)) for _ in range(2)]
    a = [delays[0].next_delay() for _ in range(8)]
    b = [delays[1].next_delay() for _ in range(8)]
    assert a == b
    assert all(0.75 <= d / min(8.0, 2.0 ** k) < 1.25 for k, d in enumerate(a))


def test_breaker_demotes_after_threshold_and_probes_after_backoff() -> None:
    breaker = UnitBreaker(threshold=3, backoff=Backoff(1.0, 60.0, random.Random(0)))
    assert not breaker.record_failure(0.0) and not breaker.record_failure(0.0)
    assert breaker.record_failure(0.0)       # third failure: demoted, reported once
    assert not breaker.allows(0.1) and breaker.allows(breaker.retry_at)
    assert not breaker.record_failure(breaker.retry_at)   # failed probe: still down
    assert breaker.record_success() and breaker.allows(0.0)
    assert not breaker.record_success()


def test_public_api_is_what_all_says() -> None:
    import isthmus.connectors.modbus as modbus

    assert sorted(modbus.__all__) == sorted(
        name for name in vars(modbus) if not name.startswith("_")
        and name not in {"adapter", "breaker", "codec", "connector", "decoding", "errors",
                         "fingerprint", "health", "planner", "poller", "ratelimit", "rbe",
                         "scheduler"})
