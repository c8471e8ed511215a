"""The ledger's receiving side over a real historian: admission (signature, order, sequence),
leaves and blocks, restart, checkpoints, the historian sink, and portable proofs."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from isthmus.bus import Bus
from isthmus.integrity.checkpoint import Checkpoint
from isthmus.integrity.errors import (
    BadSignatureError,
    CanonicalFormError,
    IntegrityError,
    OutOfOrderBatchError,
    ReplayedBatchError,
    UnknownGatewayError,
    UnsignedBatchError,
)
from isthmus.integrity.evidence import (
    EvidenceError,
    check_inclusion_proof,
    consistency_evidence,
    inclusion_proof_for,
    stored_log,
)
from isthmus.integrity.identity import GatewayIdentity
from isthmus.integrity.ledger import BatchSigner, Ledger, SignedSampleBatch
from isthmus.model import EventKind, SampleBatch, now_ns
from isthmus.sinks import HistorianSink
from tests.integrity.conftest import (
    GATEWAY,
    T0,
    Filled,
    RawSQL,
    S,
    fill,
    open_ledger_historian,
    poll,
    tag,
)


def test_leaves_and_blocks_carry_the_leaf_index(filled: Filled, raw: RawSQL) -> None:
    rows = raw("SELECT leaf, count(*), sum(n) FROM blocks GROUP BY leaf ORDER BY leaf")
    assert [tuple(map(int, r)) for r in rows] == [(k, 3, 12) for k in range(6)]
    leaves = filled.ledger.historian.ledger_leaves()
    assert [(r.index, r.source, r.seq, r.n) for r in leaves] == [
        (k, "plc", k, 12) for k in range(6)]
    assert leaves[2].min_ts == T0 + 8 * S and leaves[2].max_ts == T0 + 11 * S
    assert filled.ledger.log.size == 6


def test_refused_batches_name_why(ledger_url: str) -> None:
    filled = fill(ledger_url, leaves=2)
    ledger, registry = filled.ledger, filled.registry
    signer = BatchSigner(filled.identity, ledger.tracker.positions())
    good = signer.sign("plc", poll(registry, 2))
    value = good.value.copy()
    value[0] += 1
    forged = dataclasses.replace(good, value=value)
    stranger = BatchSigner(GatewayIdentity.generate("stranger-gw")).sign("plc", poll(registry, 3))
    unsorted = dataclasses.replace(good, ts=good.ts[::-1].copy())
    skipped = BatchSigner(filled.identity, {(GATEWAY, "plc"): 5}).sign("plc", poll(registry, 4))
    replay = BatchSigner(filled.identity).sign("plc", poll(registry, 0))
    plain = poll(registry, 5)
    admission = ledger.admit([forged, plain, stranger, unsorted, good, skipped, replay])
    assert [type(e) for _, e in admission.refused] == [
        BadSignatureError, UnsignedBatchError, UnknownGatewayError, BadSignatureError,
        OutOfOrderBatchError, ReplayedBatchError]
    assert [s.header.seq for s in admission.accepted] == [2]
    assert ledger.store(admission.accepted) == range(2, 3)
    ledger.historian.close()


def test_unsorted_but_validly_signed_batch_is_refused(ledger_url: str) -> None:
    filled = fill(ledger_url, leaves=1)
    identity = filled.identity
    from isthmus.integrity.canonical import BatchHeader
    from isthmus.integrity.envelope import sign_batch

    batch = poll(filled.registry, 1)  # interleaved tags: not in ledger order
    signed = sign_batch(identity, BatchHeader(GATEWAY, "plc", 1), batch)
    assert signed.signature is not None
    message = SignedSampleBatch(batch.tag_id, batch.ts, batch.value, batch.quality,
                                batch.ts_gateway, signed.header, signed.signature)
    (refused,) = filled.ledger.admit([message]).refused
    assert isinstance(refused[1], CanonicalFormError)
    filled.ledger.historian.close()


def test_a_restart_continues_the_log_and_the_sequences(ledger_url: str) -> None:
    filled = fill(ledger_url, leaves=3)
    filled.ledger.historian.close()
    historian = open_ledger_historian(ledger_url)
    ledger = Ledger(historian, filled.identity)
    assert ledger.log.size == 3 and ledger.tracker.positions() == {(GATEWAY, "plc"): 2}
    signer = BatchSigner(filled.identity, historian.ledger_positions())
    replay = BatchSigner(filled.identity).sign("plc", poll(filled.registry, 0))
    admission = ledger.admit([replay, signer.sign("plc", poll(filled.registry, 3))])
    assert isinstance(admission.refused[0][1], ReplayedBatchError)
    assert ledger.store(admission.accepted) == range(3, 4)
    historian.close()


def test_checkpoints_are_signed_on_schedule_and_chain(ledger_url: str) -> None:
    filled = fill(ledger_url, leaves=1)
    ledger = filled.ledger
    ledger._every = 2
    signer = BatchSigner(filled.identity, ledger.tracker.positions())
    assert not ledger.checkpoint_due() and ledger.checkpoint() is None  # nothing new
    ledger.store(ledger.admit([signer.sign("plc", poll(filled.registry, 1))]).accepted)
    assert not ledger.checkpoint_due()
    ledger.store(ledger.admit([signer.sign("plc", poll(filled.registry, 2))]).accepted)
    assert ledger.checkpoint_due()
    note = ledger.checkpoint()
    assert note is not None
    head = Checkpoint.open(note, [filled.identity.verifier], origin=GATEWAY)
    assert head.size == 3 and head.root == ledger.log.root()
    stored = ledger.historian.ledger_checkpoints()
    assert [c.size for c in stored] == [1, 3]
    doc = consistency_evidence(ledger.log, stored[0].note, stored[1].note,
                               [filled.identity.verifier])
    assert (doc["old_size"], doc["new_size"]) == (1, 3)
    ledger.historian.close()


def test_a_ledger_whose_leaves_no_longer_match_the_last_tree_head_refuses_to_open(
        filled: Filled, raw: RawSQL) -> None:
    raw("UPDATE ledger_leaves SET leaf_hash = ? WHERE idx = 1", b"\x07" * 32)
    historian = open_ledger_historian(filled.url)
    with pytest.raises(IntegrityError, match="last signed checkpoint"):
        Ledger(historian, filled.identity)
    historian.close()


def test_inclusion_proof_checks_with_only_the_public_key(filled: Filled) -> None:
    historian = open_ledger_historian(filled.url)
    verifier = filled.identity.verifier
    tag_id = filled.registry.id_of(tag("t1").path)
    doc = inclusion_proof_for(historian, [verifier], tag_id, tag("t1").path,
                              T0 + 9 * S + 5)
    historian.close()
    doc = json.loads(json.dumps(doc))
    proven = check_inclusion_proof(doc, verifier)
    assert (proven.ts, proven.leaf_index, proven.tree_size) == (T0 + 9 * S, 2, 6)
    assert proven.value == 200.0 + 4  # leaf 2, second step, tag t1
    for field, value in [("value", (7.0).hex()), ("ts", T0)]:
        with pytest.raises(EvidenceError, match="not the one at position"):
            check_inclusion_proof({**doc, "sample": {**doc["sample"], field: value}}, verifier)
    with pytest.raises(IntegrityError):
        check_inclusion_proof({**doc, "leaf_index": 3}, verifier)
    with pytest.raises(IntegrityError):
        check_inclusion_proof(doc, GatewayIdentity.generate(GATEWAY).verifier)


def test_a_proof_signed_the_version_1_way_is_refused(filled: Filled) -> None:
    historian = open_ledger_historian(filled.url)
    verifier = filled.identity.verifier
    doc = inclusion_proof_for(historian, [verifier], filled.registry.id_of(tag("t1").path),
                              tag("t1").path, T0 + 9 * S + 5)
    historian.close()
    leaf = base64.b64decode(doc["leaf"])  # version 1 signed these bytes themselves
    old_signature = base64.b64encode(filled.identity.sign(leaf)).decode()
    with pytest.raises(BadSignatureError):
        check_inclusion_proof({**doc, "signature": old_signature}, verifier)
    with pytest.raises(EvidenceError, match="prove the sample again"):
        check_inclusion_proof({**doc, "format": "isthmus-inclusion-proof/1"}, verifier)


def test_proof_needs_a_checkpoint_covering_the_sample(ledger_url: str) -> None:
    filled = fill(ledger_url, leaves=2)
    signer = BatchSigner(filled.identity, filled.ledger.tracker.positions())
    filled.ledger.store(filled.ledger.admit([signer.sign("plc", poll(filled.registry, 2))])
                        .accepted)
    historian = filled.ledger.historian
    tag_id = filled.registry.id_of(tag("t0").path)
    with pytest.raises(EvidenceError, match="no signed checkpoint covers leaf 2"):
        inclusion_proof_for(historian, [filled.identity.verifier], tag_id,
                            tag("t0").path, T0 + 9 * S)
    assert stored_log(historian).size == 3
    historian.close()


async def test_sink_logs_signed_batches_and_quarantines_the_rest(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'h.db'}"
    historian = open_ledger_historian(url)
    registry = historian.register_tags([tag(f"t{i}") for i in range(3)])
    identity = GatewayIdentity.generate(GATEWAY)
    ledger = Ledger(historian, identity)
    signer = BatchSigner(identity)
    bus = Bus()
    sink = HistorianSink(historian, bus.subscribe("historian", durable=True),
                         quarantine_dir=tmp_path / "quarantine", ledger=ledger)
    task = asyncio.create_task(sink.run())
    first = signer.sign("plc", poll(registry, 0))
    await bus.publish(first)
    await bus.publish(signer.sign("plc", poll(registry, 1)))
    await bus.publish(first)  # a replay
    await bus.publish(poll(registry, 2))  # unsigned
    await bus.close()
    stats = await task
    assert (stats.ledger_leaves, stats.samples_written, stats.quarantined_batches) == (2, 24, 2)
    assert stats.checkpoints == 1
    assert len(list((tmp_path / "quarantine").glob("*.npz"))) == 2
    meta = [json.loads(p.read_text()) for p in (tmp_path / "quarantine").glob("*.json")]
    assert sorted(m.get("seq", -1) for m in meta) == [-1, 0]
    events = historian.events(0, now_ns() + 1, kind=EventKind.INTEGRITY.value)
    assert sorted(e.data["error"] for e in events) == ["ReplayedBatchError",
                                                       "UnsignedBatchError"]
    assert historian.sample_count() == 24
    head = Checkpoint.open(historian.ledger_checkpoints()[-1].note, [identity.verifier])
    assert head.size == 2
    historian.close()


def test_nan_values_survive_the_ledger(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'h.db'}"
    filled = fill(url, leaves=0)
    signer = BatchSigner(filled.identity)
    batch = poll(filled.registry, 0)
    value = batch.value.copy()
    value[::2] = np.nan
    signed = signer.sign("plc", SampleBatch(batch.tag_id, batch.ts, value, batch.quality,
                                            batch.ts_gateway))
    filled.ledger.store(filled.ledger.admit([signed]).accepted)
    filled.ledger.checkpoint()
    from isthmus.integrity.verify import verify_ledger

    report = verify_ledger(filled.ledger.historian, {GATEWAY: filled.identity.verifier})
    assert report.ok and report.samples == 12
    filled.ledger.historian.close()
