"""The SPC monitor on sample batches: rule events from fixed limits, and capability per
shift as derived tags."""

from __future__ import annotations

import datetime as dt

import pytest

from isthmus.analytics.spc import SpcMonitor, spc_derived_tags
from isthmus.model import EventKind
from tests.analytics.efficiency_site import PREFIX, T0, S, batch, registry_of, site_with

WEIGHT = f"{PREFIX}/fill_weight"
SHIFTS = [{"name": "a", "start": "00:00"}, {"name": "b", "start": "08:00"},
          {"name": "c", "start": "16:00"}]


def monitor(**chart: object) -> tuple[SpcMonitor, object]:
    site = site_with(shifts=SHIFTS, spc={"charts": [{"tag": WEIGHT, **chart}]})
    registry = registry_of(site, spc_derived_tags(site))
    return SpcMonitor(site, registry), registry


def test_individuals_beyond_limits_and_a_large_moving_range_are_events() -> None:
    # baseline 10 12 11 15: centre 12, MR̄ 7/3, UCL 12 + 2.66·7/3 = 18.21, MR UCL 7.62
    spc, registry = monitor(chart="i_mr", baseline_subgroups=4)
    values = [10, 12, 11, 15, 12, 19, 12, 4]
    events = spc.update(batch(registry, [(WEIGHT, i, v) for i, v in enumerate(values)]))
    seen = [((e.ts - T0) // S, e.data["spc"]["rule"], e.data["spc"].get("range_chart", False))
            for e in events]
    assert seen == [(5, 1, False), (7, 1, False), (7, 1, True)]
    assert events[0].kind == EventKind.ALARM and events[0].tag == WEIGHT
    assert events[0].data["spc"]["points"] == [{"ts": T0 + 5 * S, "value": 19.0}]
    assert events[0].data["spc"]["ucl"] == pytest.approx(12 + 2.660 * 7 / 3)
    assert events[2].data["spc"]["points"][0]["value"] == 8.0  # |4 − 12|


def test_xbar_r_limits_from_a_baseline_window() -> None:
    # window [T0, T0+4 s): subgroups (1,3) (2,6): X̄̄ 3, R̄ 3, UCL 3 + 1.880·3 = 8.64
    start = dt.datetime.fromtimestamp(T0 / S, dt.UTC)
    spc, registry = monitor(chart="xbar_r", subgroup=2, baseline_start=start,
                            baseline_end=start + dt.timedelta(seconds=4))
    rows = [(WEIGHT, i, v) for i, v in enumerate([1, 3, 2, 6, 8.5, 8.7, 9, 9])]
    events = spc.update(batch(registry, rows))
    assert [((e.ts - T0) // S, e.data["spc"]["rule"]) for e in events] == [(7, 1)]
    assert events[0].data["spc"]["points"] == [{"ts": T0 + 7 * S, "value": 9.0}]
    assert events[0].data["spc"]["center"] == 3.0


def test_no_event_while_the_baseline_is_learned() -> None:
    spc, registry = monitor(chart="i_mr", baseline_subgroups=5)
    assert spc.update(batch(registry, [(WEIGHT, i, v) for i, v in
                                       enumerate([1, 100, 1, 100, 1])])) == []


def test_capability_of_a_shift_is_written_when_the_shift_ends() -> None:
    # 498 502 500 504 496: mean 500, MR̄ 4.5 → σw 4.5/1.128; s = √10; spec 490…510
    spc, registry = monitor(chart="i_mr", baseline_subgroups=2)
    spc.update(batch(registry, [(WEIGHT, i, v) for i, v in
                                enumerate([498, 502, 500, 504, 496])]))
    assert len(spc.derived) == 0  # shift a is still open
    spc.update(batch(registry, [(WEIGHT, 8 * 3600, 500)]))  # first sample of shift b
    derived = {registry.tag(i).signal: (t, v) for i, t, v, _ in spc.derived.take().rows()}
    sigma_w, sigma = 4.5 / 1.128, 10 ** 0.5
    assert derived == {
        "fill_weight_cp": (T0, pytest.approx(20 / (6 * sigma_w))),
        "fill_weight_cpk": (T0, pytest.approx(10 / (3 * sigma_w))),
        "fill_weight_pp": (T0, pytest.approx(20 / (6 * sigma))),
        "fill_weight_ppk": (T0, pytest.approx(10 / (3 * sigma))),
    }


def test_a_tick_past_the_shift_end_closes_it() -> None:
    spc, registry = monitor(chart="i_mr", baseline_subgroups=2)
    spc.update(batch(registry, [(WEIGHT, i, v) for i, v in enumerate([498, 502, 500])]))
    spc.tick(T0 + 8 * 3600 * S)
    assert len(spc.derived) == 4


def test_bad_quality_samples_are_not_charted() -> None:
    spc, registry = monitor(chart="i_mr", baseline_subgroups=2)
    rows = batch(registry, [(WEIGHT, 0, 10), (WEIGHT, 1, 10.5), (WEIGHT, 2, 1e6)])
    rows.quality[2] = 0x80000000
    assert spc.update(rows) == []
