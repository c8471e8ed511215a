"""Aggregates answered from rollups equal the same aggregates computed from raw samples."""

from __future__ import annotations

import itertools
from collections import defaultdict

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from isthmus.historian import AGGREGATE_FUNCTIONS, SequencedHistorian
from isthmus.historian.query import HOUR_NS, MINUTE_NS, plan_segments
from isthmus.model import Quality, SampleBatch
from tests.historian.conftest import tag

S = 1_000_000_000
T0 = 1_700_000_000 * S - 1234 * S  # not aligned to an hour
SPAN = 3 * HOUR_NS
_names = itertools.count()


def reference(ts: list[int], values: list[float], quality: list[int], start: int, end: int,
              every: int) -> dict[str, dict[int, float]]:
    """Obvious per-sample computation over raw samples (unique timestamps)."""
    buckets: dict[int, list[tuple[int, float]]] = defaultdict(list)
    for t, v, q in zip(ts, values, quality, strict=True):
        if start <= t < end and q & 0xC0000000 == 0:
            buckets[t // every * every].append((t, v))
    out: dict[str, dict[int, float]] = {fn: {} for fn in AGGREGATE_FUNCTIONS}
    for b, samples in buckets.items():
        samples.sort()
        vals = [v for _, v in samples]
        out["avg"][b] = sum(vals) / len(vals)
        out["min"][b], out["max"][b] = min(vals), max(vals)
        out["count"][b] = len(vals)
        out["first"][b], out["last"][b] = vals[0], vals[-1]
    return out


samples = st.lists(
    st.tuples(st.integers(0, SPAN // S // 15).map(lambda x: x * 15), st.floats(-1e6, 1e6),
              st.sampled_from([0, Quality.BAD_TIMEOUT, Quality.UNCERTAIN]),
              st.integers(0, 3)),  # which write the sample goes in
    min_size=40, max_size=250, unique_by=(lambda s: s[0], lambda s: s[1]))


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(samples=samples,
       every=st.sampled_from([10 * S, MINUTE_NS, 2 * MINUTE_NS, 15 * MINUTE_NS, HOUR_NS,
                              2 * HOUR_NS]),
       start=st.integers(-HOUR_NS, HOUR_NS), length=st.integers(HOUR_NS, SPAN + HOUR_NS))
def test_aggregate_from_rollups_equals_aggregate_from_raw(
        historian: SequencedHistorian, samples: list[tuple[int, float, int, int]],
        every: int, start: int, length: int):
    name = tag(f"t{next(_names)}").path
    tid = historian.register_tags([tag(name.rsplit("/", 1)[1])]).id_of(name)
    ts = [T0 + s[0] * S for s in samples]
    values = [s[1] for s in samples]
    quality = [int(s[2]) for s in samples]
    batch = SampleBatch.of(np.full(len(ts), tid), ts, values, quality)
    # neighbouring samples land in different writes, so later writes bring earlier data
    write_of = np.array([(s[3] + s[0] // 15 * 7919) % 4 for s in samples])
    for k in range(4):  # several writes, late data included: rollups must merge right
        historian.write(batch.take(write_of == k))
    start_ns, end_ns = T0 + start, T0 + start + length
    want = reference(ts, values, quality, start_ns, end_ns, every)
    for fn in sorted(AGGREGATE_FUNCTIONS):
        got = historian.aggregate(name, start_ns, end_ns, every, fn)
        assert got.bucket_ns.tolist() == sorted(want[fn])
        np.testing.assert_allclose(got.value, [want[fn][b] for b in sorted(want[fn])],
                                   rtol=1e-9, atol=1e-6)
        assert got.count.tolist() == [int(want["count"][b]) for b in sorted(want[fn])]


@given(start=st.integers(-10**15, 10**15), length=st.integers(0, 10**14),
       every=st.sampled_from([7 * S, MINUTE_NS, 3 * MINUTE_NS, HOUR_NS, 5 * HOUR_NS]))
def test_plan_covers_the_range_exactly_with_levels_that_divide_the_bucket(
        start: int, length: int, every: int):
    pieces = plan_segments(start, start + length, every)
    edges = [start] + [e for _, _, e in pieces]
    assert [s for _, s, _ in pieces] == edges[:-1]
    assert edges[-1] == start + length
    for level, s, e in pieces:
        assert s < e
        if level is not None:
            assert every % level == 0 and s % level == 0 and e % level == 0


def test_late_sample_in_an_earlier_write_becomes_the_first_of_its_rollup_bucket(
        historian: SequencedHistorian):
    name = tag("late").path
    tid = historian.register_tags([tag("late")]).id_of(name)
    hour = T0 // HOUR_NS * HOUR_NS + HOUR_NS
    historian.write(SampleBatch.of([tid, tid], [hour + 30 * S, hour + 40 * S], [3.0, 4.0]))
    historian.write(SampleBatch.of([tid, tid], [hour + 10 * S, hour + 50 * S], [1.0, 5.0]))
    for every in (MINUTE_NS, HOUR_NS):
        first = historian.aggregate(name, hour, hour + HOUR_NS, every, "first")
        last = historian.aggregate(name, hour, hour + HOUR_NS, every, "last")
        assert (first.value.tolist(), last.value.tolist()) == ([1.0], [5.0])
