"""The model: ISA-95 paths, interning, columnar batches, quality codes."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from isthmus.model import (
    Quality,
    SampleBatch,
    Tag,
    TagPathError,
    TagRegistry,
    UnknownTagError,
    is_bad,
    is_good,
    validate_tag_path,
)

SEGMENT = st.from_regex(r"[a-z0-9][a-z0-9_-]{0,8}", fullmatch=True)


@given(st.lists(SEGMENT, min_size=7, max_size=7))
def test_any_seven_valid_segments_form_a_path(segments: list[str]) -> None:
    path = "/".join(segments)
    assert validate_tag_path(path) == path


@pytest.mark.parametrize("path, reason", [
    ("acme/lyon/packaging/line1/conveyor/motor", "6 segments"),
    ("acme/lyon/packaging/line1/conveyor/motor/speed/x", "8 segments"),
    ("acme/Lyon/packaging/line1/conveyor/motor/speed", "site segment 'Lyon'"),
    ("acme/lyon/packaging//conveyor/motor/speed", "line segment ''"),
    ("acme/lyon/pack aging/line1/conveyor/motor/speed", "area segment"),
])
def test_invalid_paths_name_the_problem(path: str, reason: str) -> None:
    with pytest.raises(TagPathError, match=reason):
        validate_tag_path(path)


def test_registry_interns_stably() -> None:
    reg = TagRegistry()
    a = reg.intern(Tag("e/s/a/l/c/x/one"))
    b = reg.intern(Tag("e/s/a/l/c/x/two"))
    assert (a, b) == (1, 2)
    assert reg.intern(Tag("e/s/a/l/c/x/one", unit="m")) == a
    assert reg.tag(a).unit == "m"
    assert reg.id_of("e/s/a/l/c/x/two") == b
    with pytest.raises(UnknownTagError, match="e/s/a/l/c/x/three"):
        reg.id_of("e/s/a/l/c/x/three")


def test_tag_rejects_inverted_range() -> None:
    with pytest.raises(ValueError, match="low 10"):
        Tag("e/s/a/l/c/x/one", low=10, high=1)


def test_batch_columns_have_their_dtypes_and_lengths() -> None:
    b = SampleBatch.of([1, 2], [10, 20], [1.5, 2.5], [0, Quality.BAD_TIMEOUT])
    assert (b.tag_id.dtype, b.ts.dtype, b.value.dtype, b.quality.dtype) == (
        np.int32, np.int64, np.float64, np.uint32)
    assert list(b.ts_gateway) == [10, 20]
    with pytest.raises(ValueError, match="value"):
        SampleBatch(b.tag_id, b.ts, b.value[:1], b.quality, b.ts_gateway)


def test_concat_and_take() -> None:
    b = SampleBatch.concat([SampleBatch.of([1], [1], [1.0]), SampleBatch.of([2], [2], [2.0])])
    assert list(b.rows()) == [(1, 1, 1.0, 0), (2, 2, 2.0, 0)]
    assert list(b.take(b.value > 1.5).tag_id) == [2]


def test_quality_classes_follow_the_status_code_top_bits() -> None:
    assert is_good(Quality.GOOD) and not is_bad(Quality.GOOD)
    assert not is_good(Quality.UNCERTAIN_ENGINEERING_UNITS_EXCEEDED)
    assert not is_bad(Quality.UNCERTAIN_ENGINEERING_UNITS_EXCEEDED)
    assert all(is_bad(q) for q in Quality if q.name.startswith("BAD"))
