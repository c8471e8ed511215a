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


def test_signed_retention_is_reported_apart_from_tampering(filled: Filled) -> None:
    cutoff = T0 + 6 * S  # all of leaf 0 (0…3 s) and half of leaf 1 (4…7 s)
    assert filled.ledger.record_retention(cutoff, policy="test: 6 s") == 6
    assert filled.ledger.historian.apply_retention(cutoff) > 0
    filled.ledger.checkpoint()
    report = verify(filled)
    assert report.ok, report.findings
    assert {f.kind for f in report.findings} == {"retention"}
    assert {f.leaf for f in report.findings} == {0, 1}
    assert all("signed retention policy" in f.detail for f in report.findings)


def test_retention_without_a_signed_entry_is_tampering(filled: Filled) -> None:
    historian = open_ledger_historian(filled.url)
    assert historian.apply_retention(T0 + 6 * S) > 0
    historian.close()
    report = verify(filled)
    assert not report.ok
    assert [f.kind for f in report.findings if f.kind == "policy"] == ["policy"]
    assert {(f.kind, f.leaf) for f in report.findings if f.tag} >= {("deleted", 0)}
    assert "retention" not in {f.kind for f in report.findings}


def test_deletion_after_the_signed_cutoff_is_still_named(filled: Filled, raw: RawSQL) -> None:
    filled.ledger.record_retention(T0 + 4 * S, policy="test: 4 s")  # leaf 0 only
    filled.ledger.historian.apply_retention(T0 + 4 * S)
    bid, *_ = block(raw, filled, 2, 1)
    raw("DELETE FROM blocks WHERE id = ?", bid)
    report = verify(filled)
    assert ("deleted", 2, path(1)) in named(report)
    assert {f.leaf for f in report.findings if f.kind == "retention"} == {0}


def test_edited_retention_entry_is_named(filled: Filled, raw: RawSQL) -> None:
    index = filled.ledger.record_retention(T0 + 4 * S, policy="test: 4 s")
    ((entry,),) = raw("SELECT manifest FROM ledger_leaves WHERE idx = ?", index)
    forged = bytes(entry).replace(str(T0 + 4 * S).encode(), str(T0 + 8 * S).encode())
    raw("UPDATE ledger_leaves SET manifest = ? WHERE idx = ?", forged, index)
    filled.ledger.historian.apply_retention(T0 + 8 * S)
    report = verify(filled)
    kinds = {f.kind for f in report.findings}
    assert "policy" in kinds and ("deleted", 1, path(0)) in named(report)


def test_renamed_tag_is_named_against_the_signed_tag_map(filled: Filled, raw: RawSQL) -> None:
    assert filled.ledger.sign_tag_map() == 6
    assert filled.ledger.sign_tag_map() is None  # unchanged: nothing new to sign
    raw("UPDATE tags SET path = ? WHERE path = ?", tag("t9").path, path(1))
    report = verify(filled)
    (finding,) = [f for f in report.findings if f.failure]
    assert finding.kind == "renamed" and path(1) in finding.detail


# --- leaves stored three per transaction: one block per tag holds three leaves' runs --------
def test_transactions_of_several_leaves_share_blocks_and_verify(filled_tx: Filled) -> None:
    raw = RawSQL(filled_tx.url)
    try:
        assert raw("SELECT DISTINCT leaf FROM blocks ORDER BY leaf") == [(0,), (3,)]
        assert raw("SELECT count(*) FROM blocks") == [(6,)]
    finally:
        raw.close()
    report = verify(filled_tx)
    assert report.ok, report.findings
    assert (report.leaves, report.samples, report.checkpoints_ok) == (6, 72, 2)


def tx_block(filled: Filled, tx: int, i: int) -> tuple[RawSQL, int, int, int, int, bytes]:
    raw = RawSQL(filled.url)
    return raw, *block(raw, filled, tx, i)


def test_value_rewritten_in_a_shared_block_names_the_one_leaf(filled_tx: Filled) -> None:
    raw, bid, tag_id, lo, n, payload = tx_block(filled_tx, 0, 1)
    samples = decode_block(tag_id, lo, n, payload)
    value = samples.value.copy()
    value[5] += 0.5  # the second sample of leaf 1's run (4 samples per leaf)
    forged = samples.__class__(samples.tag_id, samples.ts, value, samples.quality,
                               samples.ts_gateway)
    (new,) = encode_blocks(sort_by_tag_and_time(forged))
    raw("UPDATE blocks SET payload = ? WHERE id = ?", new.payload, bid)
    raw.close()
    report = verify(filled_tx)
    assert named(report) == [("altered", 1, path(1))]
    (finding,) = [f for f in report.findings if f.kind == "altered"]
    assert (finding.start_ns, finding.end_ns) == (int(samples.ts[4]), int(samples.ts[7]))


def test_deleted_shared_block_names_each_leaf_it_held(filled_tx: Filled) -> None:
    raw, bid, *_ = tx_block(filled_tx, 3, 2)
    raw("DELETE FROM blocks WHERE id = ?", bid)
    raw.close()
    report = verify(filled_tx)
    assert named(report) == [("deleted", 3, path(2)), ("deleted", 4, path(2)),
                             ("deleted", 5, path(2))]
    assert len(checkpoint_failures(report)) == 1


def test_samples_inserted_into_a_shared_block_are_named(filled_tx: Filled) -> None:
    raw, bid, tag_id, lo, n, payload = tx_block(filled_tx, 0, 0)
    samples = decode_block(tag_id, lo, n, payload)
    late = samples.take(slice(n - 1, n))
    grown = samples.concat([samples, samples.__class__(
        late.tag_id, late.ts + S, late.value + 1, late.quality, late.ts_gateway + S)])
    (new,) = encode_blocks(sort_by_tag_and_time(grown))
    raw("UPDATE blocks SET payload = ?, n = ?, max_ts = ? WHERE id = ?",
        new.payload, new.n, new.max_ts, bid)
    raw.close()
    report = verify(filled_tx)
    assert named(report) == [("inserted", 0, path(0))]
    assert report.findings[0].start_ns == int(samples.ts[-1]) + S


def test_shared_blocks_swapped_between_transactions_are_reordered(filled_tx: Filled) -> None:
    raw, a, *_ = tx_block(filled_tx, 0, 0)
    b, *_ = block(raw, filled_tx, 3, 0)
    raw("UPDATE blocks SET leaf = 3 WHERE id = ?", a)
    raw("UPDATE blocks SET leaf = 0 WHERE id = ?", b)
    raw.close()
    report = verify(filled_tx)
    kinds = {f.kind for f in report.findings if f.kind != "checkpoint"}
    assert kinds == {"reordered"}
    moved = {(f.leaf, f.detail) for f in report.findings if f.kind == "reordered"}
    assert (1, "block signed in leaf 1 moved to leaf 3") in moved
    assert (0, "block signed in leaf 4 moved to leaf 0") in moved


def test_edited_leaf_in_a_shared_transaction_fails_only_that_leaf(filled_tx: Filled) -> None:
    raw = RawSQL(filled_tx.url)
    raw("UPDATE ledger_leaves SET source = 'other' WHERE idx = 4")
    raw.close()
    report = verify(filled_tx)
    assert named(report) == [("leaf", 4, None)]


def test_undecodable_block_is_named_not_a_crash(filled_tx: Filled) -> None:
    raw, bid, *_ = tx_block(filled_tx, 3, 1)
    raw("UPDATE blocks SET payload = ? WHERE id = ?", b"\x99garbage", bid)
    raw.close()
    report = verify(filled_tx)
    assert ("altered", 3, path(1)) in named(report)
    assert "cannot be decoded" in " ".join(f.detail for f in report.findings)
    assert {f.leaf for f in report.findings if f.kind == "deleted"} == {3, 4, 5}


def test_verify_streams_in_pages_smaller_than_a_transaction(filled_tx: Filled) -> None:
    raw, bid, *_ = tx_block(filled_tx, 3, 0)
    raw("DELETE FROM blocks WHERE id = ?", bid)
    raw("UPDATE ledger_leaves SET seq = 77 WHERE idx = 1")
    raw.close()
    historian = open_ledger_historian(filled_tx.url)
    keys = {filled_tx.identity.gateway_id: filled_tx.identity.verifier}
    try:
        reports = [verify_ledger(historian, keys, chunk=c) for c in (1, 2, 4, 2000)]
    finally:
        historian.close()
    assert named(reports[0]) == [("deleted", 3, path(0)), ("deleted", 4, path(0)),
                                 ("deleted", 5, path(0)), ("leaf", 1, None)]
    for report in reports:
        assert report.findings == reports[0].findings
        assert (report.leaves, report.samples) == (6, 72)
