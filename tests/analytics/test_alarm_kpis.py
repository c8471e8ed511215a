"""Alarm KPIs over synthetic alarm-event streams with known answers."""

from __future__ import annotations

import pytest

from isthmus.analytics.alarm_kpis import KpiSettings, compute_kpis
from isthmus.analytics.alarms import AlarmRecord, AlarmState, Transition, records_of
from isthmus.config.alarms import Priority
from isthmus.model import Event, EventKind, Severity
from tests.analytics.conftest import T0, S

MIN = 60 * S
U, R, N = AlarmState.UNACK_ACTIVE, AlarmState.UNACK_RTN, AlarmState.NORMAL


def _event(alarm: str, t: int, state: AlarmState, previous: AlarmState, *,
           area: str = "packaging", priority: str = "low",
           active_since: int | None = None) -> Event:
    active = state in (AlarmState.UNACK_ACTIVE, AlarmState.ACK_ACTIVE)
    record = AlarmRecord(
        ts=t, alarm=alarm, tag=f"acme/lyon/{area}/l/c/a/{alarm}", condition="hi", state=state,
        previous=previous,
        transition=Transition.ACTIVATE if active else Transition.CLEAR,
        priority=Priority(priority), area=area, active=active, acked=False,
        active_since=(active_since or t) if active else None)
    return Event(t, EventKind.ALARM, Severity.LOW, "", tag=record.tag, data=record.data())


def flicker(alarm: str, t: int, *, on_for: int = 30 * S, **kw: str) -> list[Event]:
    """One annunciation at `t`, cleared `on_for` later."""
    return [_event(alarm, t, U, N, **kw), _event(alarm, t + on_for, R, U, **kw)]


def kpis(events: list[Event], hours: float = 1.0, **settings: int):  # type: ignore[no-untyped-def]
    return compute_kpis(records_of(sorted(events, key=lambda e: e.ts)), start_ns=T0,
                        end_ns=T0 + round(hours * 3600 * S), settings=KpiSettings(**settings))


def test_rate_per_ten_minutes_per_operator_position() -> None:
    # packaging: 6 alarms in the hour (1 per 10 min); utilities: 12 in the first 10 min
    events = [e for k in range(6) for e in flicker("a", T0 + k * 10 * MIN)]
    events += [e for k in range(12) for e in flicker(f"u{k}", T0 + k * 20 * S,
                                                     area="utilities")]
    report = kpis(events)
    loads = {load.area: load for load in report.areas}
    assert (loads["packaging"].per_period_avg, loads["packaging"].per_period_peak) == (1.0, 1)
    assert (loads["utilities"].per_period_avg, loads["utilities"].per_period_peak) == (2.0, 12)
    assert (loads["utilities"].flood_periods, loads["packaging"].flood_periods) == (1, 0)
    assert loads["utilities"].flood_share == pytest.approx(100 / 6)
    assert report.annunciations == 18
    assert report.per_hour_avg == pytest.approx(18.0)


def test_flood_is_more_than_ten_in_one_period() -> None:
    ten = [e for k in range(10) for e in flicker(f"x{k}", T0 + k * S)]
    assert kpis(ten).total.flood_periods == 0
    eleven = ten + flicker("x10", T0 + 10 * S)
    assert kpis(eleven).total.flood_periods == 1


def test_chattering_is_three_annunciations_within_sixty_seconds() -> None:
    chatter = [e for t in (0, 25, 50) for e in flicker("chatty", T0 + t * S, on_for=5 * S)]
    slow = [e for t in (0, 40, 81) for e in flicker("slow", T0 + t * S, on_for=5 * S)]
    report = kpis(chatter + slow)
    assert report.chattering == (("chatty", 3),)


def test_fleeting_alarms_clear_within_the_threshold() -> None:
    events = flicker("blip", T0, on_for=S) + flicker("ok", T0, on_for=10 * S)
    assert kpis(events).fleeting == (("blip", 1),)


def test_standing_alarm_uses_activations_before_the_window() -> None:
    old = _event("stuck", T0 - 30 * 3600 * S, U, N)
    recent = _event("fresh", T0 + MIN, U, N)
    assert kpis([old, recent]).standing == ("stuck",)
    cleared = [old, _event("stuck", T0 + 2 * MIN, R, U)]
    assert kpis(cleared).standing == ()


def test_priority_mix_and_bad_actors() -> None:
    events: list[Event] = []
    t = T0
    for alarm, count, priority in (("a", 8, "low"), ("b", 5, "low"), ("c", 4, "medium"),
                                   ("d", 3, "high")):
        for _ in range(count):
            events += flicker(alarm, t, on_for=10 * S, priority=priority)
            t += 2 * MIN
    report = kpis(events, top=2)
    assert dict(report.priority_share) == {
        Priority.LOW: 65.0, Priority.MEDIUM: 20.0, Priority.HIGH: 15.0, Priority.CRITICAL: 0.0}
    assert [(b.alarm, b.count, b.share) for b in report.bad_actors] == [
        ("a", 8, 40.0), ("b", 5, 25.0)]
    assert report.bad_actor_share == 65.0


def test_reannunciation_after_unshelve_counts_but_staying_active_does_not() -> None:
    events = [_event("a", T0, U, N), _event("a", T0 + S, U, AlarmState.SHELVED),
              _event("a", T0 + 2 * S, AlarmState.ACK_ACTIVE, U)]
    assert kpis(events).annunciations == 2


def test_report_rows_name_each_kpi() -> None:
    rows = kpis(flicker("a", T0)).rows()
    names = [r[0] for r in rows]
    assert {"alarms_per_10min_avg", "flood_periods_pct", "standing_alarms",
            "chattering_alarms", "fleeting_alarms", "priority_low_pct", "bad_actor_1",
            "top10_share_pct"} <= set(names)
    assert all(len(r) == 5 for r in rows)


def test_empty_window_is_refused() -> None:
    with pytest.raises(ValueError, match="window is empty"):
        compute_kpis([], start_ns=T0, end_ns=T0)
