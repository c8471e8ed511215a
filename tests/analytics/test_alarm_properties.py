"""Properties over random value streams and operator actions: no impossible state transition,
and the events do not depend on how the stream was cut into batches."""

from __future__ import annotations

import contextlib
import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from isthmus.analytics.alarms import ALLOWED_TRANSITIONS, AlarmActionError, AlarmRecord
from isthmus.model import Quality
from tests.analytics.conftest import T0, S, alarm_records, rig

LEVEL = "process/line1/tank1/tank/level"
RUNNING = "process/line1/tank1/tank/running"
ALARMS = (
    {"id": "hi", "tag": LEVEL, "type": "hi", "limit": 60, "deadband": 5, "on_delay": 2,
     "off_delay": 1, "suppress_when": {"tag": RUNNING, "equals": 0, "release_delay": 3}},
    {"id": "lolo", "tag": LEVEL, "type": "lolo", "limit": 20},
    {"id": "rate", "tag": LEVEL, "type": "rate", "limit": 15},
    {"id": "dev", "tag": LEVEL, "type": "deviation", "limit": 10,
     "setpoint": "process/line1/tank1/tank/setpoint"},
    {"id": "state", "tag": "process/line1/tank1/tank/state", "type": "state", "state": 2},
    {"id": "bad", "tag": LEVEL, "type": "bad_quality"},
    {"id": "stale", "tag": LEVEL, "type": "stale", "stale_after": 4},
)
SIGNALS = ("level", "level", "level", "setpoint", "state", "running")

samples = st.lists(st.tuples(
    st.integers(0, 3),  # seconds since the previous sample
    st.sampled_from(SIGNALS),
    st.floats(0, 100, allow_nan=False),
    st.sampled_from([Quality.GOOD, Quality.GOOD, Quality.GOOD, Quality.BAD_TIMEOUT]),
), min_size=1, max_size=60)
actions = st.lists(st.tuples(st.integers(0, 60), st.sampled_from(
    ["acknowledge", "shelve", "unshelve", "remove_from_service", "return_to_service"]),
    st.sampled_from([a["id"] for a in ALARMS])), max_size=12)


def _rows(stream: list[tuple[int, str, float, int]]) -> list[tuple[str, float, float, int]]:
    t, rows = 0, []
    for dt, signal, value, quality in stream:
        t += dt
        rows.append((signal, float(t), round(value, 1), int(quality)))
    return rows


def _check(records: list[AlarmRecord]) -> None:
    last: dict[str, AlarmRecord] = {}
    for r in records:
        assert (r.previous, r.state) in ALLOWED_TRANSITIONS or r.previous == r.state, r
        if r.alarm in last:
            assert r.previous == last[r.alarm].state, (last[r.alarm], r)
            assert r.ts >= last[r.alarm].ts
        last[r.alarm] = r


@settings(max_examples=150, deadline=None)
@given(samples, actions)
def test_random_streams_and_actions_never_make_an_impossible_transition(
        stream: list[tuple[int, str, float, int]],
        acts: list[tuple[int, str, str]]) -> None:
    r = rig(*ALARMS)
    records: list[AlarmRecord] = []
    pending = sorted(acts)
    for row in _rows(stream):
        while pending and pending[0][0] <= row[1]:
            second, action, alarm = pending.pop(0)
            kwargs = {"duration_s": 30} if action == "shelve" else {}
            with contextlib.suppress(AlarmActionError):  # refused: the state forbids it
                records += alarm_records(getattr(r.engine, action)(
                    alarm, operator="op", ts=T0 + second * S, **kwargs))
        records += r.feed(row)
    records += r.tick(200)
    _check(records)


@settings(max_examples=100, deadline=None)
@given(samples, st.lists(st.integers(1, 59), max_size=5))
def test_events_do_not_depend_on_batch_boundaries(
        stream: list[tuple[int, str, float, int]], cuts: list[int]) -> None:
    rows = _rows(stream)
    whole = rig(*ALARMS)
    expected = whole.feed(*rows) + whole.tick(rows[-1][1] + 100)
    pieces = rig(*ALARMS)
    got: list[AlarmRecord] = []
    # cut between distinct instants (samples of one instant arrive in one poll)
    bounds = [0, *sorted(c for c in set(cuts) if c < len(rows) and rows[c - 1][1] < rows[c][1]),
              len(rows)]
    for lo, hi in itertools.pairwise(bounds):
        if hi > lo:
            got += pieces.feed(*rows[lo:hi])
    got += pieces.tick(rows[-1][1] + 100)

    def key(rec: AlarmRecord) -> tuple[int, str, str]:
        return (rec.ts, rec.alarm, rec.state.value)

    assert sorted(got, key=key) == sorted(expected, key=key)
