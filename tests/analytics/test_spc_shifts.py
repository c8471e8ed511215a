"""Shifts in the site's time zone: which shift a moment falls in, and planned busy time."""

from __future__ import annotations

import datetime as dt

import pytest

from isthmus.analytics.shifts import ShiftCalendar
from isthmus.config.efficiency import ShiftConfig

S = 1_000_000_000
PARIS = [ShiftConfig(name="c", start="22:00"), ShiftConfig(name="a", start="06:00"),
         ShiftConfig(name="b", start="14:00", planned_busy=450)]


def ns(text: str) -> int:
    return int(dt.datetime.fromisoformat(text).timestamp()) * S


def test_a_night_shift_belongs_to_the_day_it_started() -> None:
    shift = ShiftCalendar(PARIS, "Europe/Paris").shift_at(ns("2023-11-15T03:00:00+01:00"))
    assert (shift.name, shift.day.isoformat()) == ("c", "2023-11-14")
    assert shift.start_ns == ns("2023-11-14T22:00:00+01:00")
    assert shift.planned_busy_s == 8 * 3600


def test_the_night_of_the_spring_dst_change_is_seven_hours() -> None:
    shift = ShiftCalendar(PARIS, "Europe/Paris").shift_at(ns("2023-03-26T04:00:00+02:00"))
    assert shift.name == "c"
    assert shift.end_ns - shift.start_ns == 7 * 3600 * S


def test_planned_busy_time_of_a_shift_and_a_day() -> None:
    calendar = ShiftCalendar(PARIS, "Europe/Paris")
    b = calendar.shift_at(ns("2023-11-15T15:00:00+01:00"))
    assert b.planned_busy_s == 450 * 60
    day = calendar.day_at(ns("2023-11-15T15:00:00+01:00"))
    assert (day.start_ns, day.planned_busy_s) == (ns("2023-11-15T06:00:00+01:00"),
                                                  (8 + 7.5 + 8) * 3600)


def test_periods_tile_a_window_in_order() -> None:
    calendar = ShiftCalendar(PARIS, "Europe/Paris")
    labels = [p.label for p in calendar.periods(ns("2023-11-15T05:00:00+01:00"),
                                                ns("2023-11-15T23:00:00+01:00"))]
    assert labels == ["2023-11-14 c", "2023-11-15 a", "2023-11-15 b", "2023-11-15 c"]


def test_without_shifts_a_day_is_one_shift_from_midnight() -> None:
    shift = ShiftCalendar([], "UTC").shift_at(ns("2023-11-15T12:00:00+00:00"))
    assert (shift.name, shift.planned_busy_s) == ("day", 86400)


def test_duplicate_shift_names_are_refused() -> None:
    with pytest.raises(ValueError, match="unique"):
        ShiftCalendar([ShiftConfig(name="a", start="06:00"),
                       ShiftConfig(name="a", start="18:00")])
