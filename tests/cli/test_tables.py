"""Rendering rows for `isthmus query` and `isthmus tags` as a table, JSON or CSV."""

from __future__ import annotations

import csv
import io
import json
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from isthmus.cli.tables import render

COLUMNS = ["tag", "value", "quality"]
ROWS = [
    ["acme/s1/a/l/c/pump-1/flow", 12.5, 0],
    ["acme/s1/a/l/c/pump-1/head", 1234.75, 2147483648],
    ["acme/s1/a/l/c/pump-1/speed", float("nan"), None],
]


def _render(fmt: str, rows: list[list[object]], columns: list[str] = COLUMNS) -> str:
    out = io.StringIO()
    render(columns, rows, fmt, out)  # type: ignore[arg-type]
    return out.getvalue()


def test_table_aligns_columns_and_right_aligns_numbers() -> None:
    assert _render("table", ROWS).splitlines() == [
        "tag                           value     quality",
        "--------------------------  -------  ----------",
        "acme/s1/a/l/c/pump-1/flow     12.50           0",
        "acme/s1/a/l/c/pump-1/head   1234.75  2147483648",
        "acme/s1/a/l/c/pump-1/speed      NaN",
    ]


def test_table_rounds_floats_to_six_significant_digits() -> None:
    assert _render("table", [[1234.5678]], ["v"]).splitlines()[2] == "1234.57"
    text = _render("table", [[1 / 3], [2 / 3 * 1000]], ["v"])
    assert text.splitlines()[2:] == ["  0.333333", "666.666667"]


def test_table_uses_exponents_for_tiny_and_huge_values() -> None:
    assert _render("table", [[1e-9], [6.02e23]], ["v"]).splitlines()[2:] == [
        "   1e-09", "6.02e+23"]


def test_table_shows_booleans_and_escapes_newlines() -> None:
    lines = _render("table", [[True, "a\nb"], [False, "c"]], ["ok", "note"]).splitlines()
    assert lines[2:] == ["true   a\\nb", "false  c"]


def test_table_with_no_rows_has_a_header() -> None:
    assert _render("table", []) == "tag  value  quality\n---  -----  -------\n"


def test_json_is_a_list_of_objects_with_nan_as_null() -> None:
    records = json.loads(_render("json", ROWS))
    assert records[0] == {"tag": "acme/s1/a/l/c/pump-1/flow", "value": 12.5, "quality": 0}
    assert records[2]["value"] is None


def test_json_with_no_rows_is_an_empty_list() -> None:
    assert json.loads(_render("json", [])) == []


def test_numpy_scalars_are_plain_numbers() -> None:
    rows: list[list[object]] = [["t", np.float64(1.5), np.uint32(7)],
                                ["u", np.float32(2), np.int64(-1)], ["v", np.bool_(True), 0]]
    assert json.loads(_render("json", rows)) == [
        {"tag": "t", "value": 1.5, "quality": 7}, {"tag": "u", "value": 2.0, "quality": -1},
        {"tag": "v", "value": True, "quality": 0}]
    assert _render("table", rows[:2]).splitlines()[2:] == ["t      1.5        7",
                                                          "u      2.0       -1"]


def test_csv_has_a_header_and_quotes_where_needed() -> None:
    text = _render("csv", [["a,b", 1.25, 0], ['say "hi"', float("nan"), None]])
    assert text == 'tag,value,quality\n"a,b",1.25,0\n"say ""hi""",NaN,\n'


def test_rows_of_the_wrong_length_are_refused() -> None:
    with pytest.raises(ValueError, match=r"row 1 has 2 values; expected 3 \(tag, value, quality\)"):
        _render("csv", [["a", 1, 2], ["b", 1]])


def test_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown output format 'xml'"):
        _render("xml", ROWS)


def test_rows_may_be_a_generator() -> None:
    assert _render("csv", (["t", i, 0] for i in range(3))).count("\n") == 4


CELLS = st.one_of(st.none(), st.booleans(), st.integers(-(2**63), 2**63),
                  st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=10))


@given(st.lists(st.lists(CELLS, min_size=3, max_size=3), max_size=6))
def test_csv_reads_back_as_written(rows: list[list[object]]) -> None:
    parsed = list(csv.reader(io.StringIO(_render("csv", rows), newline="")))
    assert parsed[0] == COLUMNS
    assert len(parsed) == len(rows) + 1
    for written, read in zip(rows, parsed[1:], strict=True):
        for value, text in zip(written, read, strict=True):
            if isinstance(value, float) and not math.isnan(value):
                assert float(text) == value
            elif isinstance(value, int) and not isinstance(value, bool):
                assert int(text) == value


@given(st.lists(st.lists(CELLS, min_size=3, max_size=3), max_size=6))
def test_json_is_always_valid_and_keeps_finite_numbers(rows: list[list[object]]) -> None:
    records = json.loads(_render("json", rows))
    assert len(records) == len(rows)
    for written, record in zip(rows, records, strict=True):
        for value, name in zip(written, COLUMNS, strict=True):
            if isinstance(value, float) and not math.isfinite(value):
                assert record[name] is None
            else:
                assert record[name] == value


@given(st.lists(st.lists(CELLS, min_size=3, max_size=3), max_size=6))
def test_table_lines_are_as_wide_as_the_header_rule(rows: list[list[object]]) -> None:
    lines = _render("table", rows).splitlines()
    assert len(lines) == len(rows) + 2
    assert all(len(line) <= len(lines[1]) for line in lines)
