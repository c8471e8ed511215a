"""The JSON-lines encoding of `isthmus monitor --out` and the event timestamps."""

from __future__ import annotations

import json
import math

from hypothesis import given
from hypothesis import strategies as st

from isthmus.security.ecs import json_line, timestamp

_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**63, 2**63 - 1) | st.text()
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20)


@given(st.dictionaries(st.text(), _values, max_size=6))
def test_a_line_is_one_json_object_that_reads_back_equal(doc: dict[str, object]) -> None:
    line = json_line(doc)
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    assert json.loads(line) == doc


def test_numeric_keys_become_strings_and_nan_becomes_null() -> None:
    line = json_line({"registers": {40001: 7}, "value": math.nan, "name": "Füllmenge"})
    assert json.loads(line) == {"registers": {"40001": 7}, "value": None, "name": "Füllmenge"}
    assert "Füllmenge".encode() in line          # UTF-8, not \u escapes


def test_timestamps_are_rfc3339_with_nanoseconds_across_seconds() -> None:
    base = 1_764_131_580 * 10**9                    # 2025-11-26T04:33:00Z
    assert timestamp(base + 123_456_789) == "2025-11-26T04:33:00.123456789Z"
    assert timestamp(base + 10**9 + 5) == "2025-11-26T04:33:01.000000005Z"
    assert timestamp(base - 1) == "2025-11-26T04:32:59.999999999Z"
