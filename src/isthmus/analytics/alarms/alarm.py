"""One alarm at run time: on/off delays, suppression release, shelve expiry, operator actions,
and the ALARM event each state change produces."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from isthmus.analytics.alarms.records import AlarmRecord
from isthmus.analytics.alarms.spec import AlarmSpec, severity_of
from isthmus.analytics.alarms.states import AlarmActionError, AlarmFlags, AlarmState, Transition
from isthmus.model import Event, EventKind, Severity

__all__ = ["AlarmRuntime"]

SOURCE = "alarms"


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


@dataclass(slots=True)
class AlarmRuntime:
    """The state of one alarm between batches. Times are ns since the epoch."""

    spec: AlarmSpec
    flags: AlarmFlags = field(default_factory=AlarmFlags)
    raw: bool = False  # the condition before its on/off delay
    pending_since: int | None = None  # raw differs from flags.active since then
    release_at: int | None = None  # suppression ends then (release delay running)
    shelved_until: int | None = None
    active_since: int | None = None
    value: float = math.nan
    setpoint: float = math.nan

    @property
    def state(self) -> AlarmState:
        return self.flags.state

    # --- timers ---------------------------------------------------------------------------
    def next_due(self) -> int | None:
        times = [t for t in (self._pending_due(), self.release_at, self.shelved_until)
                 if t is not None]
        return min(times, default=None)

    def _pending_due(self) -> int | None:
        if self.pending_since is None:
            return None
        delay = self.spec.on_delay_ns if self.raw else self.spec.off_delay_ns
        return self.pending_since + delay

    def advance(self, now: int) -> list[Event]:
        """Fire every timer due at or before `now`, in time order, at its own time."""
        events: list[Event] = []
        while (due := self.next_due()) is not None and due <= now:
            if due == self._pending_due():
                self.pending_since = None
                events += self._change(due, Transition.ACTIVATE if self.raw else Transition.CLEAR,
                                       self.flags.with_condition(self.raw))
            elif due == self.release_at:
                self.release_at = None
                events += self._change(due, Transition.UNSUPPRESS,
                                       self.flags.hidden_as(suppressed=False))
            else:
                self.shelved_until = None
                events += self._change(due, Transition.SHELVE_EXPIRED,
                                       self.flags.hidden_as(shelved=False))
        return events

    # --- process inputs -------------------------------------------------------------------
    def on_condition(self, ts: int, raw: bool, value: float, setpoint: float) -> list[Event]:
        """The condition (after deadband) became `raw` at `ts`."""
        events = self.advance(ts)
        self.value, self.setpoint, self.raw = value, setpoint, raw
        if raw == self.flags.active:
            self.pending_since = None  # it went back before its delay ran out
            return events
        self.pending_since = ts
        return events + self.advance(ts)

    def on_suppression(self, ts: int, suppress: bool) -> list[Event]:
        events = self.advance(ts)
        if suppress:
            self.release_at = None
            if not self.flags.suppressed:
                events += self._change(ts, Transition.SUPPRESS,
                                       self.flags.hidden_as(suppressed=True))
            return events
        if self.flags.suppressed and self.release_at is None:
            assert self.spec.suppression is not None
            self.release_at = ts + self.spec.suppression.release_delay_ns
            events += self.advance(ts)
        return events

    # --- operator actions -----------------------------------------------------------------
    def acknowledge(self, ts: int, operator: str, comment: str) -> list[Event]:
        try:
            flags = self.flags.acknowledged()
        except AlarmActionError as exc:
            raise AlarmActionError(f"alarm {self.spec.id}: {exc}") from None
        return self._act(ts, Transition.ACKNOWLEDGE, flags, operator, comment)

    def shelve(self, ts: int, operator: str, duration_ns: int, comment: str) -> list[Event]:
        if self.flags.out_of_service:
            raise AlarmActionError(f"alarm {self.spec.id} is out of service: return it to "
                                   "service before shelving it")
        if not 0 < duration_ns <= self.spec.max_shelve_ns:
            raise AlarmActionError(
                f"alarm {self.spec.id}: shelve for more than 0 and at most "
                f"{self.spec.max_shelve_ns / 1e9:g} s (its max_shelve), "
                f"not {duration_ns / 1e9:g} s")
        self.shelved_until = ts + duration_ns
        return self._act(ts, Transition.SHELVE, self.flags.hidden_as(shelved=True), operator,
                         comment)

    def unshelve(self, ts: int, operator: str, comment: str) -> list[Event]:
        if not self.flags.shelved:
            raise AlarmActionError(f"alarm {self.spec.id} is not shelved ({self.state.value})")
        self.shelved_until = None
        return self._act(ts, Transition.UNSHELVE, self.flags.hidden_as(shelved=False), operator,
                         comment)

    def remove_from_service(self, ts: int, operator: str, comment: str) -> list[Event]:
        if self.flags.out_of_service:
            raise AlarmActionError(f"alarm {self.spec.id} is already out of service")
        self.shelved_until = None
        flags = self.flags.hidden_as(out_of_service=True, shelved=False)
        return self._act(ts, Transition.REMOVE_FROM_SERVICE, flags, operator, comment)

    def return_to_service(self, ts: int, operator: str, comment: str) -> list[Event]:
        if not self.flags.out_of_service:
            raise AlarmActionError(f"alarm {self.spec.id} is in service ({self.state.value})")
        return self._act(ts, Transition.RETURN_TO_SERVICE,
                         self.flags.hidden_as(out_of_service=False), operator, comment)

    def restore(self, record: AlarmRecord) -> None:
        """Take up the state stored in `record` (after a restart)."""
        state = record.state
        self.flags = AlarmFlags(active=record.active, acked=record.acked,
                                shelved=state == AlarmState.SHELVED,
                                suppressed=state == AlarmState.SUPPRESSED,
                                out_of_service=state == AlarmState.OUT_OF_SERVICE)
        self.raw = record.active
        self.active_since = record.active_since if record.active else None
        self.shelved_until = record.shelved_until if self.flags.shelved else None
        self.value = math.nan if record.value is None else record.value

    # --- events ---------------------------------------------------------------------------
    def _act(self, ts: int, transition: Transition, flags: AlarmFlags, operator: str,
             comment: str) -> list[Event]:
        audit = Event(ts, EventKind.AUDIT, Severity.INFO,
                      f"{operator} {transition.value.replace('_', ' ')}: alarm {self.spec.id}",
                      source=SOURCE, asset=self.spec.asset, tag=self.spec.tag,
                      data={"action": transition.value, "alarm": self.spec.id,
                            "operator": operator, "comment": comment or None,
                            "state": self.state.value, "shelved_until": self.shelved_until})
        return [audit, *self._change(ts, transition, flags, operator=operator, comment=comment,
                                     always=True)]

    def _change(self, ts: int, transition: Transition, flags: AlarmFlags, *,
                operator: str | None = None, comment: str = "",
                always: bool = False) -> list[Event]:
        previous = self.flags.state
        if flags.active and not self.flags.active:
            self.active_since = ts
        elif not flags.active:
            self.active_since = None
        self.flags = flags
        if flags.state == previous and not always:
            return []
        return [self._event(ts, transition, previous, operator, comment)]

    def _event(self, ts: int, transition: Transition, previous: AlarmState,
               operator: str | None, comment: str) -> Event:
        spec, state = self.spec, self.flags.state
        record = AlarmRecord(
            ts=ts, alarm=spec.id, tag=spec.tag, condition=spec.kind.value, state=state,
            previous=previous, transition=transition, priority=spec.priority, area=spec.area,
            active=self.flags.active, acked=self.flags.acked, value=_finite(self.value),
            limit=_finite(spec.limit), setpoint=_finite(self.setpoint),
            active_since=self.active_since, shelved_until=self.shelved_until,
            operator=operator, comment=comment or None)
        severity = (severity_of(spec.priority)
                    if state in (AlarmState.UNACK_ACTIVE, AlarmState.ACK_ACTIVE) else Severity.INFO)
        return Event(ts, EventKind.ALARM, severity, self._message(record), source=SOURCE,
                     asset=spec.asset, tag=spec.tag, data=record.data())

    def _message(self, record: AlarmRecord) -> str:
        spec = self.spec
        what = spec.message or f"{spec.tag} {spec.kind.value}"
        parts = [f"{spec.id} {record.state.value.replace('_', ' ')}: {what}"]
        if record.value is not None:
            parts.append(f"value {record.value:.6g}")
        if record.limit is not None:
            parts.append(f"limit {record.limit:.6g}")
        return ", ".join(parts)

