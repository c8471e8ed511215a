"""ISA-18.2 state transitions, operator actions (each audited), shelving, suppression by
design, out of service, and restoring state after a restart."""

from __future__ import annotations

import pytest

from isthmus.analytics.alarms import AlarmActionError, AlarmState, Transition
from isthmus.model import EventKind
from tests.analytics.conftest import T0, S, alarm_records, at, rig

LEVEL = "process/line1/tank1/tank/level"
HI = {"id": "hi", "tag": LEVEL, "type": "hi", "limit": 80, "max_shelve": 3600}
U, A, R, N = (AlarmState.UNACK_ACTIVE, AlarmState.ACK_ACTIVE, AlarmState.UNACK_RTN,
              AlarmState.NORMAL)


def test_acknowledged_while_active_then_clear_returns_to_normal() -> None:
    r = rig(HI)
    r.feed(("level", 0, 90))
    events = r.engine.acknowledge("hi", operator="ana", ts=T0 + 5 * S)
    audit, alarm = events
    assert (audit.kind, audit.data["action"], audit.data["operator"]) == (
        EventKind.AUDIT, "acknowledge", "ana")
    [record] = alarm_records([alarm])
    assert (record.previous, record.state, record.operator) == (U, A, "ana")
    [clear] = r.feed(("level", 10, 50))
    assert (clear.previous, clear.state) == (A, N)


def test_cleared_before_acknowledgement_waits_in_rtn_unacknowledged() -> None:
    r = rig(HI)
    r.feed(("level", 0, 90))
    [rtn] = r.feed(("level", 10, 50))
    assert rtn.state == R
    [ack] = alarm_records(r.engine.acknowledge("hi", operator="ana", ts=T0 + 20 * S))
    assert (ack.previous, ack.state) == (R, N)


def test_returning_before_acknowledgement_reannunciates() -> None:
    r = rig(HI)
    r.feed(("level", 0, 90))
    r.feed(("level", 1, 50))
    [again] = r.feed(("level", 2, 95))
    assert (again.previous, again.state, again.annunciation) == (R, U, True)


def test_acknowledging_a_normal_alarm_is_refused_with_its_name() -> None:
    r = rig(HI)
    with pytest.raises(AlarmActionError, match=r"alarm hi: nothing to acknowledge.*normal"):
        r.engine.acknowledge("hi", operator="ana", ts=T0)


def test_unknown_alarm_is_named() -> None:
    r = rig(HI)
    with pytest.raises(AlarmActionError, match=r"unknown alarm 'nope'.*alarms: hi"):
        r.engine.shelve("nope", operator="ana", duration_s=60)


def test_shelved_alarm_is_silent_and_expiry_brings_it_back_unacknowledged() -> None:
    r = rig(HI)
    r.feed(("level", 0, 90))
    audit, shelve = r.engine.shelve("hi", operator="ana", duration_s=600, ts=T0 + 10 * S,
                                    comment="sensor being recalibrated")
    assert audit.data["comment"] == "sensor being recalibrated"
    assert shelve.data["shelved_until"] == T0 + 610 * S
    assert r.feed(("level", 20, 50), ("level", 30, 99)) == []
    [back] = r.tick(700)
    assert (at(back), back.transition, back.previous, back.state) == (
        610, Transition.SHELVE_EXPIRED, AlarmState.SHELVED, U)


def test_shelve_expiring_while_clear_returns_to_normal() -> None:
    r = rig(HI)
    r.feed(("level", 0, 90))
    r.engine.shelve("hi", operator="ana", duration_s=60, ts=T0 + 1 * S)
    r.feed(("level", 2, 50))
    [back] = r.feed(("level", 100, 60))
    assert (at(back), back.state) == (61, N)


def test_unshelve_by_hand_and_shelve_limit() -> None:
    r = rig(HI)
    with pytest.raises(AlarmActionError, match="at most 3600 s"):
        r.engine.shelve("hi", operator="ana", duration_s=7200, ts=T0)
    r.engine.shelve("hi", operator="ana", duration_s=60, ts=T0)
    [_, unshelved] = r.engine.unshelve("hi", operator="bob", ts=T0 + 5 * S)
    assert alarm_records([unshelved])[0].state == N
    with pytest.raises(AlarmActionError, match="not shelved"):
        r.engine.unshelve("hi", operator="bob", ts=T0 + 6 * S)


def test_suppressed_by_design_while_the_machine_is_stopped() -> None:
    r = rig({**HI, "suppress_when": {"tag": "process/line1/tank1/tank/running", "equals": 0}})
    [up] = r.feed(("running", 0, 1), ("level", 1, 90))
    assert up.state == U
    [hidden] = r.feed(("running", 5, 0))
    assert (hidden.state, hidden.transition) == (AlarmState.SUPPRESSED, Transition.SUPPRESS)
    assert r.feed(("level", 6, 50), ("level", 7, 95), ("level", 8, 50)) == []
    [shown] = r.feed(("running", 10, 1))
    assert (shown.previous, shown.state) == (AlarmState.SUPPRESSED, N)


def test_suppression_release_delay_covers_the_start_up() -> None:
    r = rig({**HI, "suppress_when": {"tag": "process/line1/tank1/tank/running", "below": 0.5,
                                     "release_delay": 30}})
    [hidden] = r.feed(("running", 0, 0), ("level", 0, 90))
    assert hidden.state == AlarmState.SUPPRESSED
    assert r.feed(("running", 10, 1), ("level", 20, 95)) == []  # starting up
    [shown] = r.tick(45)
    assert (at(shown), shown.state) == (40, U)


def test_suppression_evaluated_before_a_value_at_the_same_instant() -> None:
    r = rig({**HI, "suppress_when": {"tag": "process/line1/tank1/tank/running", "equals": 0}})
    r.feed(("running", 0, 1))
    [hidden] = r.feed(("level", 5, 90), ("running", 5, 0))
    assert hidden.state == AlarmState.SUPPRESSED


def test_out_of_service_hides_until_returned_and_cancels_shelving() -> None:
    r = rig(HI)
    r.engine.shelve("hi", operator="ana", duration_s=60, ts=T0)
    [audit, oos] = r.engine.remove_from_service("hi", operator="ana", ts=T0 + 1 * S,
                                                comment="transmitter replaced")
    assert audit.data["action"] == "remove_from_service"
    assert alarm_records([oos])[0].state == AlarmState.OUT_OF_SERVICE
    assert r.feed(("level", 2, 90)) == []
    assert r.tick(3600) == []  # the cancelled shelve does not expire into view
    with pytest.raises(AlarmActionError, match="out of service"):
        r.engine.shelve("hi", operator="ana", duration_s=60, ts=T0 + 3601 * S)
    [_, back] = r.engine.return_to_service("hi", operator="ana", ts=T0 + 3602 * S)
    record = alarm_records([back])[0]
    assert (record.state, record.annunciation) == (U, True)


def test_restore_takes_up_the_stored_state() -> None:
    r = rig(HI)
    r.feed(("level", 0, 90))
    stored = alarm_records(r.engine.acknowledge("hi", operator="ana", ts=T0 + S))
    fresh = rig(HI)
    assert fresh.engine.restore(stored) == 1
    assert fresh.engine.states() == {"hi": A}
    assert fresh.feed(("level", 10, 95)) == []  # still active: nothing new to say
    [clear] = fresh.feed(("level", 11, 50))
    assert (clear.previous, clear.state, clear.active_since) == (A, N, None)
