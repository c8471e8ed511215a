"""The historian contract, run against SQLite and PostgreSQL alike."""

from __future__ import annotations

import numpy as np
import pytest

from isthmus.historian import HistorianQueryError, SequencedHistorian, open_historian
from isthmus.model import (
    DataType,
    Event,
    EventKind,
    Quality,
    SampleBatch,
    Severity,
    UnknownTagError,
)
from tests.historian.conftest import tag

S = 1_000_000_000
T0 = 1_700_000_000 * S  # 2023-11-14T22:13:20Z


def test_register_tags_keeps_known_ids_and_numbers_new_ones(historian: SequencedHistorian):
    first = historian.register_tags([tag("a"), tag("b")])
    again = historian.register_tags([tag("b", unit="bar"), tag("c")])
    assert again.id_of(tag("a").path) == first.id_of(tag("a").path)
    assert again.id_of(tag("b").path) == first.id_of(tag("b").path)
    assert again.id_of(tag("c").path) not in {first.id_of(tag("a").path),
                                               first.id_of(tag("b").path)}
    assert again.tag(again.id_of(tag("b").path)).unit == "bar"
    assert len(historian.registry()) == 3


def test_tag_metadata_round_trips(historian: SequencedHistorian):
    full = tag("pressure", unit="bar", data_type=DataType.INT16, low=0.0, high=16.0,
               deadband=0.1, scan_rate_s=0.5, description="inlet pressure",
               source={"connector": "modbus", "address": "hr:40001", "scale": [1, 10]})
    registry = historian.register_tags([full])
    assert registry.tag(registry.id_of(full.path)) == full
    assert historian.registry().tag(registry.id_of(full.path)) == full


def test_raw_returns_all_five_columns_in_half_open_range(historian: SequencedHistorian):
    tid = historian.register_tags([tag("a")]).id_of(tag("a").path)
    ts = T0 + np.arange(10) * S
    batch = SampleBatch.of([tid] * 10, ts, np.arange(10) * 1.5,
                           [0, 0, Quality.BAD_TIMEOUT, 0, 0, 0, 0, Quality.UNCERTAIN, 0, 0],
                           ts + 7_000 + np.arange(10))
    historian.write(batch)
    got = historian.raw(tag("a").path, T0 + 2 * S, T0 + 8 * S)
    want = batch.take(np.arange(2, 8))
    for column in ("tag_id", "ts", "value", "quality", "ts_gateway"):
        np.testing.assert_array_equal(getattr(got, column), getattr(want, column))
    assert len(historian.raw(tag("a").path, T0, T0 + 100 * S, limit=3)) == 3


def test_raw_merges_late_and_out_of_order_blocks_sorted_by_time(
        historian: SequencedHistorian):
    tid = historian.register_tags([tag("a")]).id_of(tag("a").path)
    historian.write(SampleBatch.of([tid] * 3, [T0 + 5 * S, T0 + 1 * S, T0 + 9 * S], [5, 1, 9]))
    historian.write(SampleBatch.of([tid] * 3, [T0 + 2 * S, T0 + 8 * S, T0 + 3 * S], [2, 8, 3]))
    got = historian.raw(tag("a").path, T0, T0 + 10 * S)
    np.testing.assert_array_equal(got.value, [1, 2, 3, 5, 8, 9])
    assert historian.sample_count() == 6


def test_raw_of_unknown_tag_raises(historian: SequencedHistorian):
    with pytest.raises(UnknownTagError):
        historian.raw(tag("nope").path, 0, T0)


def test_write_with_unregistered_tag_id_raises_and_writes_nothing(
        historian: SequencedHistorian):
    tid = historian.register_tags([tag("a")]).id_of(tag("a").path)
    with pytest.raises(UnknownTagError, match="unregistered"):
        historian.write(SampleBatch.of([tid, tid + 100], [T0, T0], [1.0, 2.0]))
    assert historian.sample_count() == 0


def test_aggregate_functions_use_good_samples_in_epoch_aligned_buckets(
        historian: SequencedHistorian):
    tid = historian.register_tags([tag("a")]).id_of(tag("a").path)
    # two 10 s buckets with data, one empty between them, a bad sample ignored
    ts = [T0 + 1 * S, T0 + 4 * S, T0 + 6 * S, T0 + 25 * S, T0 + 27 * S]
    historian.write(SampleBatch.of([tid] * 5, ts, [1.0, 3.0, 100.0, 7.0, 5.0],
                                   [0, 0, Quality.BAD_SENSOR_FAILURE, 0, 0]))
    expected = {"avg": [2.0, 6.0], "min": [1.0, 5.0], "max": [3.0, 7.0], "count": [2, 2],
                "first": [1.0, 7.0], "last": [3.0, 5.0]}
    for fn, values in expected.items():
        agg = historian.aggregate(tag("a").path, T0, T0 + 60 * S, 10 * S, fn)
        np.testing.assert_array_equal(agg.bucket_ns, [T0, T0 + 20 * S])
        np.testing.assert_array_equal(agg.value, values)
        np.testing.assert_array_equal(agg.count, [2, 2])


def test_aggregate_rejects_unknown_function_and_bad_bucket(historian: SequencedHistorian):
    historian.register_tags([tag("a")])
    with pytest.raises(HistorianQueryError, match="median"):
        historian.aggregate(tag("a").path, 0, T0, 60 * S, "median")
    with pytest.raises(HistorianQueryError, match="every_ns"):
        historian.aggregate(tag("a").path, 0, T0, 0, "avg")


def test_latest_is_the_last_sample_of_each_tag_whatever_its_quality(
        historian: SequencedHistorian):
    reg = historian.register_tags([tag("a"), tag("b"), tag("idle")])
    a, b = reg.id_of(tag("a").path), reg.id_of(tag("b").path)
    historian.write(SampleBatch.of([a, a, b], [T0 + 2 * S, T0 + 1 * S, T0], [2.0, 1.0, 9.0]))
    historian.write(SampleBatch.of([b], [T0 + 5 * S], [10.0], [Quality.BAD_TIMEOUT]))
    latest = historian.latest([tag("b").path, tag("idle").path, tag("a").path])
    assert list(latest.rows()) == [(b, T0 + 5 * S, 10.0, Quality.BAD_TIMEOUT),
                                   (a, T0 + 2 * S, 2.0, 0)]


def test_retention_drops_old_samples_and_trims_blocks_that_straddle_the_cutoff(
        historian: SequencedHistorian):
    tid = historian.register_tags([tag("a")]).id_of(tag("a").path)
    ts = T0 + np.arange(0, 7200, 10) * S  # 2 h at 10 s, one block straddling the cutoff
    historian.write(SampleBatch.of(np.full(360, tid), ts[:360], np.arange(360.0)))
    historian.write(SampleBatch.of(np.full(360, tid), ts[360:], np.arange(360.0, 720)))
    cutoff = T0 + 1805 * S  # not aligned to a minute or an hour
    removed = historian.apply_retention(cutoff)
    assert removed == 181
    left = historian.raw(tag("a").path, 0, T0 + 10**6 * S)
    np.testing.assert_array_equal(left.ts, ts[181:])
    agg = historian.aggregate(tag("a").path, 0, T0 + 10**6 * S, 3600 * S, "count")
    assert agg.value.sum() == len(ts) - 181
    first = historian.aggregate(tag("a").path, 0, T0 + 10**6 * S, 60 * S, "first")
    assert first.value[0] == 181.0


def test_retention_over_several_days_drops_whole_days_and_keeps_late_blocks(
        historian: SequencedHistorian):
    tid = historian.register_tags([tag("a")]).id_of(tag("a").path)
    day = 86400 * S
    start = T0 // day * day
    for d in range(4):  # one write per day, 4 samples each, 6 h apart
        ts = start + d * day + np.arange(4) * 6 * 3600 * S
        historian.write(SampleBatch.of(np.full(4, tid), ts, np.arange(4.0) + 10 * d))
    # a late write whose block reaches from day 0 into day 3
    historian.write(SampleBatch.of([tid, tid], [start + S, start + 3 * day + S], [-1.0, -2.0]))
    removed = historian.apply_retention(start + 2 * day + 7 * 3600 * S)
    assert removed == 4 + 4 + 2 + 1
    left = historian.raw(tag("a").path, 0, start + 10 * day)
    np.testing.assert_array_equal(left.value, [22.0, 23.0, 30.0, -2.0, 31.0, 32.0, 33.0])
    assert historian.sample_count() == 7
    hourly = historian.aggregate(tag("a").path, 0, start + 10 * day, 3600 * S, "count")
    assert hourly.value.sum() == 7


def test_events_round_trip_and_filter_by_kind_and_time(historian: SequencedHistorian):
    events = [Event(ts=T0 + i * S, kind=EventKind.ALARM if i % 2 else EventKind.SECURITY,
                    severity=Severity.HIGH, message=f"event {i}", source="test",
                    asset="plc-1", tag=tag("a").path, attack_techniques=("T0855",),
                    data={"i": i}) for i in range(6)]
    historian.write_events(events)
    assert historian.events(T0, T0 + 10 * S) == events
    assert historian.events(T0, T0 + 10 * S, kind="alarm") == events[1::2]
    assert historian.events(T0 + S, T0 + 3 * S) == events[1:3]
    assert historian.events(T0, T0 + 10 * S, limit=2) == events[:2]


def test_write_sequenced_applies_each_sequence_number_once(historian: SequencedHistorian):
    tid = historian.register_tags([tag("a")]).id_of(tag("a").path)
    batch = SampleBatch.of([tid], [T0], [1.0])
    assert historian.write_sequenced(batch, stream="gw1", seq=5)
    assert not historian.write_sequenced(batch, stream="gw1", seq=5)
    assert not historian.write_sequenced(batch, stream="gw1", seq=4)
    assert historian.write_sequenced(batch, stream="gw2", seq=1)
    assert historian.high_water("gw1") == 5
    assert historian.sample_count() == 2


def test_committed_samples_survive_reopening(historian_url: str):
    first = open_historian(historian_url)
    tid = first.register_tags([tag("a")]).id_of(tag("a").path)
    first.write(SampleBatch.of([tid] * 3, [T0, T0 + S, T0 + 2 * S], [1.0, 2.0, 3.0]))
    first.close()
    again = open_historian(historian_url)
    try:
        np.testing.assert_array_equal(again.raw(tag("a").path, 0, T0 * 2).value, [1, 2, 3])
    finally:
        again.close()
