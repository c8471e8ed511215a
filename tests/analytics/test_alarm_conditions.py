"""Each condition type, with deadband and on/off delays, over scripted batches."""

from __future__ import annotations

from isthmus.analytics.alarms import AlarmState, Transition
from isthmus.model import Quality
from tests.analytics.conftest import T0, S, at, rig

LEVEL = "process/line1/tank1/tank/level"


def test_high_limit_activates_above_limit_and_clears_below_limit_minus_deadband() -> None:
    r = rig({"id": "hi", "tag": LEVEL, "type": "hi", "limit": 80, "deadband": 5})
    assert r.feed(("level", 0, 79), ("level", 1, 80)) == []  # at the limit is not above it
    [up] = r.feed(("level", 2, 81))
    assert (at(up), up.state, up.value, up.limit) == (2, AlarmState.UNACK_ACTIVE, 81, 80)
    assert r.feed(("level", 3, 79), ("level", 4, 75.5)) == []  # inside the deadband
    [down] = r.feed(("level", 5, 75))
    assert (at(down), down.state, down.transition) == (5, AlarmState.UNACK_RTN, Transition.CLEAR)


def test_low_low_limit_uses_deadband_upwards() -> None:
    r = rig({"id": "lolo", "tag": LEVEL, "type": "lolo", "limit": 10, "deadband": 2})
    [up] = r.feed(("level", 0, 9.5))
    assert up.state == AlarmState.UNACK_ACTIVE
    assert r.feed(("level", 1, 11.9)) == []
    [down] = r.feed(("level", 2, 12))
    assert (at(down), down.active) == (2, False)


def test_on_delay_needs_the_condition_to_last() -> None:
    r = rig({"id": "hi", "tag": LEVEL, "type": "hi", "limit": 80, "on_delay": 5})
    # above for 4 s only: no alarm
    assert r.feed(("level", 0, 90), ("level", 4, 70)) == []
    # above from 10 s on: the alarm comes at 15 s, when the delay has run
    assert r.feed(("level", 10, 90), ("level", 14, 95)) == []
    [up] = r.feed(("level", 16, 95))
    assert at(up) == 15
    assert up.active_since == T0 + 15 * S


def test_on_delay_runs_out_with_time_alone(t0: int) -> None:
    """Report-by-exception sends nothing while a value holds: the clock must fire the delay."""
    r = rig({"id": "hi", "tag": LEVEL, "type": "hi", "limit": 80, "on_delay": 5})
    assert r.feed(("level", 0, 90)) == []
    assert r.tick(4) == []
    [up] = r.tick(9)
    assert up.ts == t0 + 5 * S


def test_off_delay_holds_the_alarm_until_the_condition_stays_clear() -> None:
    r = rig({"id": "hi", "tag": LEVEL, "type": "hi", "limit": 80, "off_delay": 3})
    assert len(r.feed(("level", 0, 90))) == 1
    assert r.feed(("level", 1, 70), ("level", 2, 90), ("level", 3, 70)) == []
    [down] = r.feed(("level", 7, 70))
    assert (at(down), down.transition) == (6, Transition.CLEAR)


def test_rate_of_change_in_units_per_second() -> None:
    r = rig({"id": "fast-rise", "tag": LEVEL, "type": "rate", "limit": 2, "direction": "high"})
    assert r.feed(("level", 0, 10), ("level", 1, 11), ("level", 3, 15)) == []  # 2/s exactly
    [up] = r.feed(("level", 4, 18))
    assert (at(up), up.value) == (4, 3.0)
    [down] = r.feed(("level", 5, 18.5))
    assert at(down) == 5
    assert r.feed(("level", 6, 10)) == []  # falling fast is not this alarm's direction


def test_rate_spans_batches_and_skips_bad_samples() -> None:
    r = rig({"id": "rate", "tag": LEVEL, "type": "rate", "limit": 5})
    assert r.feed(("level", 0, 10)) == []
    assert r.feed(("level", 1, 999, Quality.BAD_SENSOR_FAILURE)) == []
    [up] = r.feed(("level", 2, 30))  # (30 - 10) / 2 s = 10/s; the bad sample is ignored
    assert up.value == 10.0


def test_deviation_from_a_constant_setpoint() -> None:
    r = rig({"id": "dev", "tag": LEVEL, "type": "deviation", "setpoint": 50, "limit": 5,
             "deadband": 1})
    [up] = r.feed(("level", 0, 44.5))
    assert (up.value, up.setpoint) == (44.5, 50)
    assert r.feed(("level", 1, 45.5)) == []
    [down] = r.feed(("level", 2, 46))
    assert at(down) == 2


def test_deviation_from_a_setpoint_tag_reacts_to_setpoint_changes() -> None:
    r = rig({"id": "dev", "tag": "process/line1/tank1/tank/temperature", "type": "deviation",
             "setpoint": "process/line1/tank1/tank/setpoint", "limit": 3})
    assert r.feed(("temperature", 0, 60), ("setpoint", 0, 60)) == []
    # the operator raises the setpoint; the temperature lags behind
    [up] = r.feed(("setpoint", 10, 70))
    assert (at(up), up.value, up.setpoint) == (10, 60, 70)
    [down] = r.feed(("temperature", 20, 68))
    assert at(down) == 20


def test_deviation_high_only() -> None:
    r = rig({"id": "dev", "tag": LEVEL, "type": "deviation", "setpoint": 50, "limit": 5,
             "direction": "high"})
    assert r.feed(("level", 0, 40)) == []
    assert len(r.feed(("level", 1, 56))) == 1


def test_digital_state_alarm() -> None:
    r = rig({"id": "fault", "tag": "process/line1/tank1/tank/state", "type": "state",
             "state": [2, 3], "priority": "high"})
    assert r.feed(("state", 0, 1)) == []
    [up] = r.feed(("state", 1, 2))
    assert (up.state, up.priority.value) == (AlarmState.UNACK_ACTIVE, "high")
    assert r.feed(("state", 2, 3)) == []
    [down] = r.feed(("state", 3, 0))
    assert down.active is False


def test_bad_quality_alarm() -> None:
    r = rig({"id": "bad", "tag": LEVEL, "type": "bad_quality"})
    assert r.feed(("level", 0, 1), ("level", 1, 1, Quality.UNCERTAIN)) == []
    [up] = r.feed(("level", 2, 0, Quality.BAD_NO_COMMUNICATION))
    assert at(up) == 2
    [down] = r.feed(("level", 3, 1))
    assert at(down) == 3


def test_bad_quality_holds_a_limit_alarm_as_it_was() -> None:
    r = rig({"id": "hi", "tag": LEVEL, "type": "hi", "limit": 80})
    assert len(r.feed(("level", 0, 90))) == 1
    assert r.feed(("level", 1, 0, Quality.BAD_SENSOR_FAILURE)) == []
    assert r.engine.states() == {"hi": AlarmState.UNACK_ACTIVE}


def test_stale_alarm_after_silence_then_cleared_by_a_sample(t0: int) -> None:
    r = rig({"id": "stale", "tag": LEVEL, "type": "stale", "stale_after": 30})
    assert r.feed(("level", 0, 1), ("temperature", 20, 5)) == []
    assert r.tick(29) == []
    [up] = r.tick(45)
    assert (up.ts, up.state) == (t0 + 30 * S, AlarmState.UNACK_ACTIVE)
    [down] = r.feed(("level", 50, 2))
    assert (at(down), down.state) == (50, AlarmState.UNACK_RTN)


def test_stale_alarm_found_when_the_late_sample_arrives_before_any_tick() -> None:
    r = rig({"id": "stale", "tag": LEVEL, "type": "stale", "stale_after": 30})
    assert r.feed(("level", 0, 1)) == []
    up, down = r.feed(("level", 100, 1))
    assert (at(up), at(down)) == (30, 100)


def test_tag_never_seen_is_stale_from_the_engine_start(t0: int) -> None:
    r = rig({"id": "stale", "tag": LEVEL, "type": "stale", "stale_after": 30})
    assert r.tick(0) == []
    [up] = r.tick(31)
    assert up.ts == t0 + 30 * S


def test_samples_of_other_tags_are_not_evaluated() -> None:
    r = rig({"id": "hi", "tag": LEVEL, "type": "hi", "limit": 80})
    r.feed(("temperature", 0, 500), ("state", 0, 1), ("level", 0, 1))
    assert (r.engine.stats.samples, r.engine.stats.samples_evaluated) == (3, 1)


def test_two_alarms_on_one_tag_and_unsorted_samples() -> None:
    r = rig({"id": "hi", "tag": LEVEL, "type": "hi", "limit": 80},
            {"id": "hihi", "tag": LEVEL, "type": "hihi", "limit": 90, "priority": "high"})
    records = r.feed(("level", 2, 95), ("level", 1, 85), ("level", 3, 50))
    assert [(x.alarm, at(x), x.active) for x in records] == [
        ("hi", 1, True), ("hihi", 2, True), ("hi", 3, False), ("hihi", 3, False)]
