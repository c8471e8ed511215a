"""Tampering with the historian's tables directly (SQLite file, PostgreSQL tables): UPDATE,
DELETE, INSERT and swapped rows. `verify_ledger` must name each change: kind, leaf, tag."""

from __future__ import annotations

from isthmus.historian.codec import decode_block, encode_blocks, sort_by_tag_and_time
from isthmus.integrity.verify import Finding, VerifyReport, verify_ledger
from tests.integrity.conftest import T0, Filled, RawSQL, S, open_ledger_historian, tag


def verify(filled: Filled) -> VerifyReport:
    historian = open_ledger_historian(filled.url)
    try:
        return verify_ledger(historian, {filled.identity.gateway_id: filled.identity.verifier})
    finally:
        historian.close()


def named(report: VerifyReport) -> list[tuple[str, int | None, str | None]]:
    """The changes named (checkpoint failures aside), sorted."""
    return sorted(((f.kind, f.leaf, f.tag) for f in report.findings if f.kind != "checkpoint"),
                  key=repr)


def checkpoint_failures(report: VerifyReport) -> list[Finding]:
    return [f for f in report.findings if f.kind == "checkpoint"]


def path(i: int) -> str:
    return tag(f"t{i}").path


def block(raw: RawSQL, filled: Filled, leaf: int, i: int) -> tuple[int, int, int, int, bytes]:
    tag_id = filled.registry.id_of(path(i))
    ((bid, t, lo, n, payload),) = raw("SELECT id, tag_id, min_ts, n, payload FROM blocks "
                                      "WHERE leaf = ? AND tag_id = ?", leaf, tag_id)
    return int(bid), int(t), int(lo), int(n), bytes(payload)


def test_untouched_history_verifies(filled: Filled) -> None:
    report = verify(filled)
    assert report.ok, report.findings
    assert (report.leaves, report.samples) == (6, 72)
    assert (report.checkpoints, report.checkpoints_ok, report.signed_size) == (2, 2, 6)


def test_one_value_rewritten_is_named_with_tag_leaf_and_time(filled: Filled,
                                                             raw: RawSQL) -> None:
    bid, tag_id, lo, n, payload = block(raw, filled, 2, 1)
    samples = decode_block(tag_id, lo, n, payload)
    value = samples.value.copy()
    value[1] += 0.5
    forged = samples.__class__(samples.tag_id, samples.ts, value, samples.quality,
                               samples.ts_gateway)
    (new,) = encode_blocks(sort_by_tag_and_time(forged))
    raw("UPDATE blocks SET payload = ? WHERE id = ?", new.payload, bid)
    report = verify(filled)
    assert not report.ok
    assert named(report) == [("altered", 2, path(1))]
    (finding,) = [f for f in report.findings if f.kind == "altered"]
    assert (finding.start_ns, finding.end_ns) == (int(samples.ts[0]), int(samples.ts[-1]))
    assert len(checkpoint_failures(report)) == 2  # leaf 2 is under both tree heads


def test_deleted_block_is_named(filled: Filled, raw: RawSQL) -> None:
    bid, *_ = block(raw, filled, 4, 0)
    raw("DELETE FROM blocks WHERE id = ?", bid)
    report = verify(filled)
    assert named(report) == [("deleted", 4, path(0))]
    assert len(checkpoint_failures(report)) == 1  # only the tree head of size 6 covers it


def test_forged_block_inserted_into_a_leaf_is_named(filled: Filled, raw: RawSQL) -> None:
    _, tag_id, lo, n, payload = block(raw, filled, 1, 2)
    raw("INSERT INTO blocks (tag_id, min_ts, max_ts, n, payload, leaf) VALUES (?, ?, ?, ?, ?, ?)",
        tag_id, lo + 500, lo + 500 + 3 * 10**9, n, payload, 1)
    report = verify(filled)
    assert named(report) == [("inserted", 1, path(2))]


def test_forged_block_outside_the_ledger_is_unsigned(filled: Filled, raw: RawSQL) -> None:
    _, tag_id, lo, n, payload = block(raw, filled, 1, 0)
    raw("INSERT INTO blocks (tag_id, min_ts, max_ts, n, payload) VALUES (?, ?, ?, ?, ?)",
        tag_id, lo + 7, lo + 7 + 3 * 10**9, n, payload)
    report = verify(filled)
    assert named(report) == [("unsigned", None, path(0))]
    assert not checkpoint_failures(report)


def test_swapped_leaf_indexes_are_named_as_reordered(filled: Filled, raw: RawSQL) -> None:
    a, *_ = block(raw, filled, 1, 0)
    b, *_ = block(raw, filled, 4, 0)
    raw("UPDATE blocks SET leaf = 4 WHERE id = ?", a)
    raw("UPDATE blocks SET leaf = 1 WHERE id = ?", b)
    report = verify(filled)
    assert named(report) == [("reordered", 1, path(0)), ("reordered", 1, path(0)),
                             ("reordered", 4, path(0)), ("reordered", 4, path(0))]
    details = " ".join(f.detail for f in report.findings)
    assert "signed in leaf 1 moved to leaf 4" in details
    assert "signed in leaf 4 moved to leaf 1" in details


def test_edited_sequence_number_fails_the_leaf(filled: Filled, raw: RawSQL) -> None:
    raw("UPDATE ledger_leaves SET seq = 99 WHERE idx = 3")
    report = verify(filled)
    assert named(report) == [("leaf", 3, None)]
    assert "signature" in report.findings[0].detail
    assert len(checkpoint_failures(report)) == 1


def test_deleted_leaf_record_is_named(filled: Filled, raw: RawSQL) -> None:
    raw("DELETE FROM ledger_leaves WHERE idx = 5")
    report = verify(filled)
    assert named(report) == [("deleted", 5, None)]
    assert "blocks of tag ids" in report.findings[0].detail


def test_deleted_last_leaf_with_its_blocks_fails_the_tree_head(filled: Filled,
                                                               raw: RawSQL) -> None:
    raw("DELETE FROM ledger_leaves WHERE idx = 5")
    raw("DELETE FROM blocks WHERE leaf = 5")
    report = verify(filled)
    assert named(report) == [("deleted", 5, None)]
    assert len(checkpoint_failures(report)) == 1


def test_forged_leaf_record_is_named(filled: Filled, raw: RawSQL) -> None:
    ((signature,),) = raw("SELECT signature FROM ledger_leaves WHERE idx = 0")
    raw("INSERT INTO ledger_leaves (idx, leaf_hash, gateway_id, source, seq, signature, n, "
        "min_ts, max_ts, manifest) VALUES (6, ?, ?, 'plc', 6, ?, 0, 0, 0, ?)",
        b"\x00" * 32, filled.identity.gateway_id, bytes(signature), b"")
    report = verify(filled)
    assert named(report) == [("leaf", 6, None)]


def test_edited_leaf_hash_is_named_but_samples_stay_proven(filled: Filled,
                                                           raw: RawSQL) -> None:
    raw("UPDATE ledger_leaves SET leaf_hash = ? WHERE idx = 0", b"\x01" * 32)
    report = verify(filled)
    assert named(report) == [("leaf", 0, None)]
    assert "leaf hash was edited" in report.findings[0].detail
    assert not checkpoint_failures(report)


def test_edited_checkpoint_note_is_named(filled: Filled, raw: RawSQL) -> None:
    ((note,),) = raw("SELECT note FROM ledger_checkpoints WHERE size = 3")
    lines = str(note).split("\n")
    lines[1] = "4"
    raw("UPDATE ledger_checkpoints SET note = ? WHERE size = 3", "\n".join(lines))
    report = verify(filled)
    (finding,) = report.findings
    assert finding.kind == "checkpoint" and "not validly signed" in finding.detail


def test_retention_is_reported_apart_from_tampering(filled: Filled) -> None:
    historian = open_ledger_historian(filled.url)
    cutoff = T0 + 6 * S  # all of leaf 0 (0…3 s) and half of leaf 1 (4…7 s)
    assert historian.apply_retention(cutoff) > 0
    historian.close()
    report = verify(filled)
    assert report.ok, report.findings
    kinds = {f.kind for f in report.findings}
    assert kinds == {"retention"}
    assert {f.leaf for f in report.findings} == {0, 1}
