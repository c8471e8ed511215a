"""Times and durations typed on the command line."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from isthmus.cli.times import format_ts, parse_duration, parse_time

NOW = 1_714_564_800_123_456_789  # 2024-05-01T12:00:00.123456789Z
S = 1_000_000_000
MIN_NS = -62_135_596_800 * S  # 0001-01-01
MAX_NS = 253_402_300_799 * S  # 9999-12-31T23:59:59


@pytest.mark.parametrize(("text", "expected"), [
    ("2024-05-01T12:00:00Z", 1_714_564_800 * S),
    ("2024-05-01T12:00:00", 1_714_564_800 * S),
    ("2024-05-01 12:00:00", 1_714_564_800 * S),
    ("2024-05-01T14:00:00+02:00", 1_714_564_800 * S),
    ("2024-05-01T12:00:00.5z", 1_714_564_800 * S + S // 2),
    ("2024-05-01T12:00:00.000000001Z", 1_714_564_800 * S + 1),
    ("2024-05-01", 1_714_521_600 * S),
    ("20240501T120000Z", 1_714_564_800 * S),
])
def test_iso_8601_times(text: str, expected: int) -> None:
    assert parse_time(text, now_ns=NOW) == expected


@pytest.mark.parametrize(("text", "offset"), [
    ("now", 0), ("NOW", 0), ("-30s", -30 * S), ("-15m", -15 * 60 * S),
    ("-1h", -3600 * S), ("-2d", -2 * 86400 * S), ("-1w", -7 * 86400 * S),
    ("+5m", 300 * S), ("-1h30m", -5400 * S), ("-500ms", -S // 2), (" -1h ", -3600 * S),
])
def test_relative_times(text: str, offset: int) -> None:
    assert parse_time(text, now_ns=NOW) == NOW + offset


@pytest.mark.parametrize("text", ["yesterday", "-15x", "15m", "--1h", "-", "", "2024-13-01",
                                  "2024-05-01T25:00", "1714564800"])
def test_unreadable_time_names_input_and_forms(text: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_time(text, now_ns=NOW)
    message = str(caught.value)
    assert f"cannot read time {text!r}" in message
    assert "ISO 8601" in message and "-15m" in message


def test_invalid_month_says_why() -> None:
    with pytest.raises(ValueError, match=r"month must be in 1\.\.12"):
        parse_time("2024-13-01", now_ns=NOW)


@pytest.mark.parametrize(("text", "ns"), [
    ("10s", 10 * S), ("1m", 60 * S), ("1h", 3600 * S), ("1d", 86400 * S),
    ("500ms", S // 2), ("1.5s", 3 * S // 2), ("1h30m", 5400 * S), ("2W", 14 * 86400 * S),
    ("250us", 250_000), ("7ns", 7),
])
def test_durations(text: str, ns: int) -> None:
    assert parse_duration(text) == ns


@pytest.mark.parametrize("text", ["", "10", "s", "-10s", "10 s", "1y", "0s", "1.s"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValueError, match=f"duration {text!r}"):
        parse_duration(text)


def test_format_ts_is_utc_with_milliseconds() -> None:
    assert format_ts(NOW) == "2024-05-01T12:00:00.123Z"
    assert format_ts(0) == "1970-01-01T00:00:00.000Z"
    assert format_ts(-1) == "1969-12-31T23:59:59.999Z"


def test_format_ts_outside_calendar() -> None:
    with pytest.raises(ValueError, match="outside the years"):
        format_ts(MAX_NS * 10)


@given(st.integers(MIN_NS, MAX_NS))
def test_formatted_time_parses_back_to_the_millisecond(ns: int) -> None:
    assert parse_time(format_ts(ns), now_ns=NOW) == ns - ns % 1_000_000


@given(st.datetimes(min_value=dt.datetime(1900, 1, 1), max_value=dt.datetime(2200, 1, 1),
                    timezones=st.timezones() | st.none()))
def test_iso_times_agree_with_datetime(moment: dt.datetime) -> None:
    expected = moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
    try:
        text = moment.isoformat()
    except ValueError:
        return
    micros = (expected - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)) // dt.timedelta(microseconds=1)
    assert parse_time(text, now_ns=NOW) == micros * 1000


@given(st.lists(st.tuples(st.integers(1, 10_000), st.sampled_from(
    ["ns", "us", "ms", "s", "m", "h", "d", "w"])), min_size=1, max_size=4))
def test_compound_duration_is_the_sum_of_its_parts(parts: list[tuple[int, str]]) -> None:
    scale = {"ns": 1, "us": 1000, "ms": 10**6, "s": S, "m": 60 * S, "h": 3600 * S,
             "d": 86400 * S, "w": 604800 * S}
    text = "".join(f"{n}{unit}" for n, unit in parts)
    assert parse_duration(text) == sum(n * scale[unit] for n, unit in parts)
    assert parse_time("-" + text, now_ns=NOW) == NOW - parse_duration(text)


@given(st.text(max_size=12))
def test_any_text_parses_or_raises_value_error(text: str) -> None:
    try:
        parse_time(text, now_ns=NOW)
    except ValueError as exc:
        assert repr(text) in str(exc) or "outside" in str(exc)
