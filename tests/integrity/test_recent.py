"""The gateway's own sink recalls what the gateway's signer just ordered and signed instead of
checking it again; anything else (changed samples, another header, another signature, a batch
signed elsewhere, a replay) still goes through the full check and is refused as before. The
signer keeps a batch already in ledger order as it is and sorts the others."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from isthmus.historian import HistorianError, LedgerHistorian
from isthmus.historian.ledger import has_nan
from isthmus.integrity.canonical import BatchHeader
from isthmus.integrity.envelope import sign_batch
from isthmus.integrity.errors import (
    BadSignatureError,
    CanonicalFormError,
    IntegrityError,
    ReplayedBatchError,
)
from isthmus.integrity.identity import GatewayIdentity
from isthmus.integrity.ledger import AdmittedBatch, BatchSigner, Ledger, SignedSampleBatch
from isthmus.integrity.recent import RecentBatches
from isthmus.integrity.verify import verify_ledger
from isthmus.model import SampleBatch, TagRegistry
from tests.integrity.conftest import GATEWAY, T0, S, open_ledger_historian, poll, tag


def _open(url: str, identity: GatewayIdentity) -> tuple[LedgerHistorian, TagRegistry, Ledger]:
    historian = open_ledger_historian(url)
    registry = historian.register_tags([tag(f"t{i}") for i in range(3)])
    return historian, registry, Ledger(historian, identity)


def _kinds(refused: list[tuple[SampleBatch, IntegrityError]]) -> list[type]:
    return [type(error) for _, error in refused]


def test_a_batch_is_recalled_once_and_only_with_its_own_signature() -> None:
    recent = RecentBatches()
    recent.remember(b"m1", b"s" * 64)
    recent.remember(b"m2", b"t" * 64)
    assert not recent.recall(b"m1", b"x" * 64)  # another signature: refused, and forgotten
    assert not recent.recall(b"m1", b"s" * 64)
    assert not recent.recall(b"m2", None)
    assert not recent.recall(b"m3", b"s" * 64)
    recent.remember(b"m4", b"u" * 64)
    assert recent.recall(b"m4", b"u" * 64)
    assert not recent.recall(b"m4", b"u" * 64)  # once
    assert len(recent) == 0


def test_a_sink_that_does_not_keep_up_empties_the_memory() -> None:
    recent = RecentBatches()
    for k in range(RecentBatches.LIMIT + 5):
        recent.remember(k.to_bytes(40, "big"), b"s" * 64)
    assert len(recent) == 5
    assert not recent.recall((0).to_bytes(40, "big"), b"s" * 64)


def test_own_batches_are_recalled_and_the_rest_is_checked_as_before(ledger_url: str) -> None:
    identity = GatewayIdentity.generate(GATEWAY)
    historian, registry, ledger = _open(ledger_url, identity)
    signer = BatchSigner(identity)
    first, second, third = (signer.sign("plc", poll(registry, k)) for k in range(3))
    assert len(identity.recent_batches) == 3
    value = second.value.copy()
    value[1] += 0.5
    changed = dataclasses.replace(second, value=value)  # after signing: refused
    resigned = dataclasses.replace(third, signature=identity.sign(b"another message"))
    admission = ledger.admit([first, changed, resigned])
    assert [s.header.seq for s in admission.accepted] == [0]
    assert _kinds(admission.refused) == [BadSignatureError, BadSignatureError]
    ledger.store(admission.accepted)
    # the changed samples gave another message: the second batch is still remembered; the
    # third's message was looked up (with another signature) and forgotten
    assert len(identity.recent_batches) == 1
    admission = ledger.admit([second, third, first])  # recalled, checked in full, a replay
    assert [s.header.seq for s in admission.accepted] == [1, 2]
    assert _kinds(admission.refused) == [ReplayedBatchError]
    assert len(identity.recent_batches) == 0
    ledger.store(admission.accepted)
    report = verify_ledger(historian, {GATEWAY: identity.verifier})
    assert report.ok and report.samples == 3 * len(first)
    historian.close()


def test_a_batch_signed_in_another_process_is_checked_in_full(ledger_url: str) -> None:
    key = Ed25519PrivateKey.generate()
    elsewhere, here = GatewayIdentity(GATEWAY, key), GatewayIdentity(GATEWAY, key)
    historian, registry, ledger = _open(ledger_url, here)
    signer = BatchSigner(elsewhere)
    batches = [signer.sign("plc", poll(registry, k)) for k in range(2)]
    batch = batches[1]
    unsorted = SignedSampleBatch(batch.tag_id[::-1].copy(), batch.ts[::-1].copy(),
                                 batch.value[::-1].copy(), batch.quality[::-1].copy(),
                                 batch.ts_gateway[::-1].copy(), batch.header, batch.signature)
    admission = ledger.admit([batches[0], unsorted])
    assert [s.header.seq for s in admission.accepted] == [0]
    assert _kinds(admission.refused) == [BadSignatureError]  # the bytes it signed differ
    assert len(elsewhere.recent_batches) == 2 and len(here.recent_batches) == 0
    historian.close()


def test_an_unsorted_batch_signed_by_the_key_is_refused_for_its_order(ledger_url: str) -> None:
    identity = GatewayIdentity.generate(GATEWAY)
    historian, registry, ledger = _open(ledger_url, identity)
    batch = poll(registry, 0)  # interleaved: not in ledger order, signed without the signer
    signed = sign_batch(identity, BatchHeader(GATEWAY, "plc", 0), batch)
    assert signed.signature is not None
    message = SignedSampleBatch(batch.tag_id, batch.ts, batch.value, batch.quality,
                                batch.ts_gateway, signed.header, signed.signature)
    assert _kinds(ledger.admit([message]).refused) == [CanonicalFormError]
    historian.close()


def test_the_historian_checks_the_order_of_batches_the_ledger_did_not_admit(
        ledger_url: str) -> None:
    identity = GatewayIdentity.generate(GATEWAY)
    historian, registry, ledger = _open(ledger_url, identity)
    unsorted = sign_batch(identity, BatchHeader(GATEWAY, "plc", 0), poll(registry, 0))
    with pytest.raises(HistorianError, match="ledger leaf 0: samples are not sorted"):
        ledger.store([unsorted])
    assert ledger.log.size == 0 and historian.ledger_leaves() == []
    admitted = ledger.admit([BatchSigner(identity).sign("plc", poll(registry, 0))]).accepted
    assert [type(s) for s in admitted] == [AdmittedBatch]
    assert ledger.store(admitted) == range(0, 1)
    historian.close()


def _ledger_order(batch: SampleBatch) -> np.ndarray:
    return np.lexsort((batch.ts, batch.tag_id))


_batches = st.lists(st.tuples(st.booleans(), st.lists(st.tuples(
    st.integers(1, 4), st.integers(0, 5)), min_size=0, max_size=12)), min_size=1, max_size=80)


@settings(max_examples=60, deadline=None)
@given(_batches)
def test_the_signer_signs_every_batch_in_ledger_order(shapes: list[tuple[bool, list[tuple[
        int, int]]]]) -> None:
    identity = GatewayIdentity.generate(GATEWAY)
    signer = BatchSigner(identity)
    for k, (presorted, rows) in enumerate(shapes):
        tags = np.array([t for t, _ in rows], np.int32)
        ts = T0 + np.array([s for _, s in rows], np.int64) * S
        batch = SampleBatch.of(tags, ts, np.arange(len(rows)) + 0.25 * k, None, ts + k)
        if presorted:
            batch = batch.take(_ledger_order(batch))
        signed = signer.sign("plc", batch)
        expected = batch.take(_ledger_order(batch))
        for column in ("tag_id", "ts", "value", "quality", "ts_gateway"):
            assert getattr(signed, column).tolist() == getattr(expected, column).tolist()
        assert signed.header.seq == k


def test_a_sorted_batch_keeps_its_columns_and_an_unsorted_source_is_looked_at_again() -> None:
    signer = BatchSigner(GatewayIdentity.generate(GATEWAY))
    ts = T0 + np.repeat(np.arange(3), 2) * S
    polls = SampleBatch.of([1, 2, 1, 2, 1, 2], ts, np.arange(6.0))  # time by time
    one_poll = SampleBatch.of([1, 2, 3], np.full(3, T0), [1.0, 2.0, 3.0])
    assert signer.sign("a", one_poll).value is one_poll.value
    assert signer.sign("b", polls).tag_id.tolist() == [1, 1, 1, 2, 2, 2]
    for _ in range(BatchSigner.RECHECK):  # sorted again whatever it looks like
        assert signer.sign("b", one_poll).value is not one_poll.value
    assert signer.sign("b", one_poll).value is one_poll.value


@pytest.mark.parametrize("n", [1, 2, 7, 16, 33, 1000])
def test_a_nan_anywhere_is_found(n: int) -> None:
    for at in range(n):
        values = np.arange(n, dtype=np.float64)
        assert not has_nan(values)
        values[at] = np.nan
        assert has_nan(values)
        values[at] = -np.inf
        assert not has_nan(values)
    assert not has_nan(np.zeros(0))
