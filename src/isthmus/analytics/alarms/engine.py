"""The alarm engine: a streaming component on the bus that turns sample batches into ISA-18.2
alarm events, and takes operator actions (each audited)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field

import numpy as np

from isthmus.analytics.alarms.alarm import AlarmRuntime
from isthmus.analytics.alarms.conditions import ConditionChanges, ConditionTable
from isthmus.analytics.alarms.records import AlarmRecord
from isthmus.analytics.alarms.spec import AlarmSpec, alarm_specs
from isthmus.analytics.alarms.states import AlarmActionError, AlarmState
from isthmus.analytics.streaming import consume
from isthmus.bus import Message, Subscription
from isthmus.config.alarms import AlarmKind
from isthmus.config.schema import SiteConfig
from isthmus.model import Event, SampleBatch, TagRegistry, now_ns

__all__ = ["AlarmEngine", "AlarmEngineStats"]

log = logging.getLogger(__name__)


@dataclass(slots=True)
class AlarmEngineStats:
    batches: int = 0
    samples: int = 0
    samples_evaluated: int = 0  # samples of tags that some alarm reads
    events: int = 0
    #: events that could not be published because the bus had closed; the caller writes
    #: them to the historian (see `run`)
    unpublished: list[Event] = field(default_factory=list)


class AlarmEngine:
    """Every configured alarm of a site. `update(batch)` and `tick(now_ns)` return the events
    they cause. An operator action first lets time pass to its moment (returning what that
    caused), then returns an AUDIT event and the ALARM event."""

    def __init__(self, site: SiteConfig, registry: TagRegistry) -> None:
        self._init(alarm_specs(site, registry))

    @classmethod
    def of_specs(cls, specs: Iterable[AlarmSpec]) -> AlarmEngine:
        engine = cls.__new__(cls)
        engine._init(list(specs))
        return engine

    def _init(self, specs: list[AlarmSpec]) -> None:
        self.specs = specs
        self._table = ConditionTable(specs)
        self._alarms = [AlarmRuntime(s) for s in specs]
        self._index = {s.id: i for i, s in enumerate(specs)}
        self._stale = np.array([i for i, s in enumerate(specs) if s.kind == AlarmKind.STALE],
                               dtype=np.int64)
        self._stale_after = np.array([specs[i].stale_after_ns for i in self._stale],
                                     dtype=np.int64)
        self._timed: set[int] = set()
        self._held: list[Event] = []  # caused before a refused action; returned next time
        self.clock_ns: int | None = None  # latest time seen (samples or ticks)
        self.stats = AlarmEngineStats()

    # --- streaming ------------------------------------------------------------------------
    def update(self, batch: SampleBatch) -> list[Event]:
        """Evaluate `batch` (samples in time order per tag) and let time pass to its end."""
        self.stats.batches += 1
        self.stats.samples += len(batch)
        if len(batch) == 0:
            return []
        self._start(int(batch.ts.min()))
        events, self._held = [*self._held, *self._check_stale(int(batch.ts.min()))], []
        relevant = self._table.relevant(batch)
        self.stats.samples_evaluated += len(relevant)
        if len(relevant):
            events += self._apply(self._table.evaluate(relevant))
        events += self._pass_time(int(batch.ts.max()))
        return self._counted(sorted(events, key=lambda e: e.ts))

    def tick(self, now_ns: int) -> list[Event]:
        """Let time pass to `now_ns`: delays, suppression release, shelve expiry, staleness."""
        return self._counted(self._pass_time(now_ns))

    def _pass_time(self, now_ns: int) -> list[Event]:
        self._start(now_ns)
        self.clock_ns = max(self.clock_ns or now_ns, now_ns)
        events, self._held = [*self._held, *self._check_stale(self.clock_ns)], []
        for i in sorted(self._timed):
            events += self._alarms[i].advance(self.clock_ns)
            self._retime(i)
        return sorted(events, key=lambda e: e.ts)

    def _start(self, now_ns: int) -> None:
        """Start the clock at the first moment seen: a tag never seen is stale from then."""
        if self.clock_ns is None:
            self.clock_ns = now_ns
            seen = self._table.last_seen[self._stale]
            self._table.last_seen[self._stale] = np.where(seen < 0, now_ns, seen)

    def _counted(self, events: list[Event]) -> list[Event]:
        self.stats.events += len(events)
        return events

    def _retime(self, i: int) -> None:
        if self._alarms[i].next_due() is None:
            self._timed.discard(i)
        else:
            self._timed.add(i)

    def _apply(self, changes: ConditionChanges) -> list[Event]:
        events: list[Event] = []
        for k in range(len(changes)):
            i, ts = int(changes.alarm[k]), int(changes.ts[k])
            alarm = self._alarms[i]
            if changes.suppress_changed[k]:
                events += alarm.on_suppression(ts, bool(changes.suppress[k]))
            if changes.stale_since[k] >= 0:
                events += alarm.on_condition(int(changes.stale_since[k]), True, alarm.value,
                                             alarm.setpoint)
            if changes.raw_changed[k]:
                events += alarm.on_condition(ts, bool(changes.raw[k]),
                                             float(changes.value[k]), float(changes.setpoint[k]))
            self._retime(i)
        return events

    def _check_stale(self, now: int) -> list[Event]:
        """Raise the stale alarms whose tag has been silent for their `stale_after`."""
        if len(self._stale) == 0 or self.clock_ns is None:
            return []
        last = self._table.last_seen[self._stale]
        due = ~self._table.raw[self._stale] & (last >= 0) & (now - last >= self._stale_after)
        events: list[Event] = []
        for i, since in zip(self._stale[due], (last + self._stale_after)[due], strict=True):
            self._table.raw[i] = True
            alarm = self._alarms[int(i)]
            events += alarm.on_condition(int(since), True, alarm.value, alarm.setpoint)
            self._retime(int(i))
        return events

    # --- operator actions -----------------------------------------------------------------
    def _alarm(self, alarm_id: str) -> tuple[int, AlarmRuntime]:
        try:
            i = self._index[alarm_id]
        except KeyError:
            known = ", ".join(sorted(self._index)[:10]) or "none configured"
            raise AlarmActionError(f"unknown alarm {alarm_id!r} (alarms: {known}"
                                   f"{', …' if len(self._index) > 10 else ''})") from None
        return i, self._alarms[i]

    def _act(self, alarm_id: str, ts: int | None,
             action: Callable[[AlarmRuntime, int], list[Event]]) -> list[Event]:
        """Let time pass to the action's moment, then act. If the action is refused, what
        the passing time caused is kept for the next `update` or `tick`, never lost."""
        i, alarm = self._alarm(alarm_id)
        at = now_ns() if ts is None else ts
        passed = self._pass_time(at)
        try:
            done = action(alarm, at)
        except AlarmActionError:
            self._held += passed
            raise
        self._retime(i)
        return self._counted(passed + done)

    def acknowledge(self, alarm_id: str, *, operator: str, ts: int | None = None,
                    comment: str = "") -> list[Event]:
        return self._act(alarm_id, ts, lambda a, at: a.acknowledge(at, operator, comment))

    def shelve(self, alarm_id: str, *, operator: str, duration_s: float, ts: int | None = None,
               comment: str = "") -> list[Event]:
        duration_ns = round(duration_s * 1e9)
        return self._act(alarm_id, ts,
                         lambda a, at: a.shelve(at, operator, duration_ns, comment))

    def unshelve(self, alarm_id: str, *, operator: str, ts: int | None = None,
                 comment: str = "") -> list[Event]:
        return self._act(alarm_id, ts, lambda a, at: a.unshelve(at, operator, comment))

    def remove_from_service(self, alarm_id: str, *, operator: str, ts: int | None = None,
                            comment: str = "") -> list[Event]:
        return self._act(alarm_id, ts,
                         lambda a, at: a.remove_from_service(at, operator, comment))

    def return_to_service(self, alarm_id: str, *, operator: str, ts: int | None = None,
                          comment: str = "") -> list[Event]:
        return self._act(alarm_id, ts, lambda a, at: a.return_to_service(at, operator, comment))

    # --- state ----------------------------------------------------------------------------
    def states(self) -> dict[str, AlarmState]:
        return {a.spec.id: a.state for a in self._alarms}

    def restore(self, latest: Iterable[AlarmRecord]) -> int:
        """Take up each alarm's last stored state (records of unknown alarms are ignored);
        returns how many alarms were restored. Call before the first `update`."""
        count = 0
        for record in latest:
            i = self._index.get(record.alarm)
            if i is None:
                continue
            self._alarms[i].restore(record)
            self._table.raw[i] = record.active
            self._retime(i)
            count += 1
        return count

    # --- on the bus -----------------------------------------------------------------------
    async def run(self, subscription: Subscription,
                  publish: Callable[[Event], Awaitable[None]], *, tick_s: float = 1.0,
                  clock: Callable[[], int] = now_ns) -> AlarmEngineStats:
        """Consume `subscription` until the bus closes, publishing every event.

        Use a durable subscription: a batch the engine never sees is an alarm that never
        sounds. Events go out through a separate task, so that publishing onto the same bus
        (which offers them back to this subscription) cannot wait on this loop. Events that
        find the bus closed are kept in `stats.unpublished` for the caller to store."""
        await consume(subscription, self._on_message, publish,
                      unpublished=self.stats.unpublished, on_tick=self.tick, tick_s=tick_s,
                      clock=clock)
        if self.stats.unpublished:
            log.warning("alarm engine: %d events found the bus closed; the caller must store "
                        "them", len(self.stats.unpublished))
        return self.stats

    def _on_message(self, message: Message) -> list[Event]:
        return self.update(message) if isinstance(message, SampleBatch) else []
