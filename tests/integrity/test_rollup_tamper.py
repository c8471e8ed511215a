"""`ledger verify` recomputes the 1-minute and 1-hour rollups from the raw samples: an edited,
deleted or invented rollup row is named (tag, bucket) on SQLite and PostgreSQL, and a row
whose samples are already reported as tampered is not reported twice."""

from __future__ import annotations

from isthmus.historian.query import MINUTE_NS
from tests.integrity.conftest import T0, Filled, RawSQL
from tests.integrity.test_tamper import named, path, verify

BUCKET = T0 // MINUTE_NS * MINUTE_NS          # the minute of the first samples


def _tag_id(raw: RawSQL, i: int) -> int:
    return int(raw("SELECT id FROM tags WHERE path = ?", path(i))[0][0])


def test_untouched_rollups_agree_with_the_raw_samples(filled: Filled) -> None:
    report = verify(filled)
    assert report.ok and not [f for f in report.findings if f.kind == "rollup"]


def test_an_edited_rollup_sum_is_named(filled: Filled, raw: RawSQL) -> None:
    raw("UPDATE rollup_1m SET sum = sum + 5 WHERE tag_id = ? AND bucket = ?", _tag_id(raw, 1),
        BUCKET)
    report = verify(filled)
    assert not report.ok
    assert named(report) == [("rollup", None, path(1))]
    (finding,) = report.findings
    assert finding.start_ns == BUCKET and "1-minute rollup: stored sum" in finding.detail


def test_a_deleted_and_an_invented_rollup_row_are_named(filled: Filled, raw: RawSQL) -> None:
    tag0, tag2 = _tag_id(raw, 0), _tag_id(raw, 2)
    raw("DELETE FROM rollup_1h WHERE tag_id = ?", tag0)
    raw("UPDATE rollup_1m SET bucket = bucket + ? WHERE tag_id = ? AND bucket = ?",
        7 * MINUTE_NS, tag2, BUCKET)
    details = sorted((f.tag, f.detail) for f in verify(filled).findings if f.kind == "rollup")
    assert (path(0), "60-minute rollup: the rollup row of samples the historian holds is "
            "missing") in details
    assert any(t == path(2) and "missing" in d for t, d in details)
    assert any(t == path(2) and "no raw samples behind it" in d for t, d in details)


def test_rollups_of_altered_samples_are_not_reported_again(filled: Filled,
                                                           raw: RawSQL) -> None:
    raw("DELETE FROM blocks WHERE leaf = 2 AND tag_id = ?", _tag_id(raw, 1))
    kinds = {f.kind for f in verify(filled).findings}
    assert "deleted" in kinds and "rollup" not in kinds
