"""OEE (ISO 22400-2) over a scripted shift, every figure computed by hand below."""

from __future__ import annotations

import pytest

from isthmus.analytics.oee import OeeMonitor, counter_increase, oee_derived_tags
from isthmus.model import TagRegistry
from tests.analytics.efficiency_site import PREFIX, T0, S, batch, registry_of, site_with

STATE, REASON = f"{PREFIX}/state", f"{PREFIX}/stop_reason"
GOOD, REJECT = f"{PREFIX}/good_count", f"{PREFIX}/reject_count"
SHIFTS = [{"name": "a", "start": "00:00", "planned_busy": 450},  # 7.5 h planned, UTC
          {"name": "b", "start": "08:00"}, {"name": "c", "start": "16:00"}]
LINE = {"name": "packaging/line1", "state": STATE, "good_count": GOOD,
        "reject_count": REJECT, "reason": REASON, "reasons": {3: "jam", 5: "changeover"},
        "ideal_cycle": 0.5}

# shift a (T0 … T0+8 h): running, a jam 3600–4200, idle (starved) 10000–11800, a
# changeover 20000–21200, running to the end; 40,000 good and 400 rejected bottles
SCENARIO = [
    (STATE, 0, 1), (GOOD, 0, 1000), (REJECT, 0, 10),
    (REASON, 3600, 3), (STATE, 3600, 2), (STATE, 4200, 1),
    (STATE, 10000, 0), (STATE, 11800, 1),
    (REASON, 20000, 5), (STATE, 20000, 2), (STATE, 21200, 1),
    (GOOD, 28000, 41000), (REJECT, 28000, 410),
    (STATE, 28800, 1),  # first sample of shift b closes shift a
]
# APT = 3600 + 5800 + 8200 + 7600 = 25200 s; ADOT = 600 + 1200 = 1800 s in 2 failures
# PBT = 450 min = 27000 s; PQ = 40000 + 400 = 40400; GQ = 40000; PRI = 0.5 s
EXPECTED = {
    "pbt_s": 27000.0, "apt_s": 25200.0, "downtime_s": 1800.0, "failures": 2.0,
    "pq": 40400.0, "gq": 40000.0,
    "availability": 25200 / 27000,
    "effectiveness": 0.5 * 40400 / 25200,
    "quality_ratio": 40000 / 40400,
    "oee": 0.5 * 40000 / 27000,  # = A × E × Q
    "mtbf_s": 25200 / 2, "mttr_s": 1800 / 2,
}


def oee_rig(**line: object) -> tuple[OeeMonitor, TagRegistry]:
    site = site_with(shifts=SHIFTS, oee={"lines": [{**LINE, **line}]})
    registry = registry_of(site, oee_derived_tags(site))
    return OeeMonitor(site, registry), registry


def test_shift_kpis_match_the_hand_computation() -> None:
    oee, registry = oee_rig()
    oee.update(batch(registry, SCENARIO))
    (closed,) = [c for c in oee.closed if c.kind == "shift"]
    assert closed.period.name == "a"
    assert closed.totals.values() == {k: pytest.approx(v) for k, v in EXPECTED.items()}
    assert closed.totals.downtime_by_reason == {"jam": 600.0, "changeover": 1200.0}


def test_shift_kpis_are_derived_tags_stamped_at_the_shift_start() -> None:
    oee, registry = oee_rig()
    oee.update(batch(registry, SCENARIO))
    rows = {registry.tag(i).path: (t, v) for i, t, v, _ in oee.derived.take().rows()}
    assert rows["acme/lyon/packaging/line1/oee/shift/oee"] == (T0, pytest.approx(20000 / 27000))
    assert rows["acme/lyon/packaging/line1/oee/shift/mttr_s"] == (T0, 900.0)
    assert not any("/oee/day/" in path for path in rows)  # the day is still open


def test_one_batch_or_many_give_the_same_result() -> None:
    whole, registry = oee_rig()
    whole.update(batch(registry, SCENARIO))
    split, _ = oee_rig()
    for row in SCENARIO:
        split.update(batch(registry, [row]))
    assert [c.totals for c in split.closed] == [c.totals for c in whole.closed]


def test_the_day_adds_its_shifts_and_its_planned_busy_time() -> None:
    oee, registry = oee_rig()
    oee.update(batch(registry, SCENARIO))
    oee.update(batch(registry, [(STATE, 86400, 1)]))  # next day: closes b, c and the day
    day = next(c for c in oee.closed if c.kind == "day")
    # b and c ran throughout: APT = 25200 + 2 × 28800; PBT = 27000 + 2 × 28800
    assert day.totals.apt_s == pytest.approx(25200 + 57600)
    assert day.totals.pbt_s == pytest.approx(27000 + 57600)
    assert day.totals.failures == 2


def test_without_a_reason_tag_downtime_is_by_state() -> None:
    oee, registry = oee_rig(reason=None)
    oee.update(batch(registry, [r for r in SCENARIO if r[0] != REASON]))
    closed = next(c for c in oee.closed if c.kind == "shift")
    assert closed.totals.downtime_by_reason == {"state 2": 1800.0}


def test_a_tick_closes_a_shift_that_ended_without_data() -> None:
    oee, registry = oee_rig()
    oee.update(batch(registry, SCENARIO[:-1]))
    assert not oee.closed
    oee.tick(T0 + 8 * 3600 * S + 60 * S)
    closed = next(c for c in oee.closed if c.kind == "shift")
    assert closed.totals.apt_s == pytest.approx(25200)


def test_a_shift_observed_in_part_has_prorated_planned_busy_time() -> None:
    oee, registry = oee_rig()
    oee.update(batch(registry, [(STATE, 4 * 3600, 1), (STATE, 8 * 3600, 1)]))
    closed = next(c for c in oee.closed if c.kind == "shift")
    assert closed.totals.pbt_s == pytest.approx(27000 / 2)
    assert closed.totals.availability == pytest.approx(4 * 3600 / 13500)


@pytest.mark.parametrize(("old", "new", "units"), [
    (10, 25, 15),
    (2**32 - 6, 5, 11),  # rolled over
    (5000, 3, 3),        # reset by the PLC, then 3 counted
])
def test_counter_increase(old: float, new: float, units: float) -> None:
    assert counter_increase(old, new) == units
