"""The whole path of docs/integrity.md: a gateway signs batches, a receiver verifies them and
logs them in a file-backed Merkle log, signs checkpoints, and an offline verifier checks a
batch's inclusion and the log's growth using nothing but the published material."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from isthmus.integrity import (
    BatchHeader,
    Checkpoint,
    FileLeafStore,
    GatewayIdentity,
    MerkleLog,
    NoteVerifier,
    RootMismatchError,
    SequenceTracker,
    SignedBatch,
    decode_batch,
    keyring,
    sign_batch,
    verify_batch,
    verify_consistency,
    verify_inclusion,
)
from isthmus.integrity.hashing import leaf_hash
from isthmus.model import SampleBatch


def _batch(seq: int) -> SampleBatch:
    n = 50
    return SampleBatch.of(np.arange(n), seq * 1_000 + np.arange(n), np.sin(np.arange(n) + seq))


def test_a_batch_is_proven_in_the_signed_log_and_the_log_only_grows(tmp_path: Path) -> None:
    gateway = GatewayIdentity.load_or_create(tmp_path / "keys", "plant1.example/gw-1")
    published_vkey = (tmp_path / "keys" / "gateway.vkey").read_text()

    keys = keyring([published_vkey])
    tracker = SequenceTracker()
    ledger = FileLeafStore(tmp_path / "ledger" / "leaves.bin")
    log = MerkleLog(ledger)
    wire: list[bytes] = []
    for seq in range(20):
        signed = sign_batch(gateway, BatchHeader(gateway.gateway_id, "plc-7", seq), _batch(seq))
        verify_batch(signed, keys, tracker)
        log.append_hash(signed.leaf_hash())
        wire.append(signed.payload)
    log.flush()
    old_note = Checkpoint(gateway.gateway_id, 10, log.root(10)).sign([gateway.signer])
    new_note = Checkpoint(gateway.gateway_id, log.size, log.root()).sign([gateway.signer])
    proof = log.inclusion_proof(7, 10)
    growth = log.consistency_proof(10, 20)
    ledger.close()

    # offline: the verifier key, two notes, one batch's bytes, and two proofs
    trusted = [NoteVerifier.parse(published_vkey)]
    old = Checkpoint.open(old_note, trusted, origin="plant1.example/gw-1")
    new = Checkpoint.open(new_note, trusted, origin="plant1.example/gw-1")
    verify_inclusion(leaf_hash(wire[7]), 7, old.size, proof, old.root)
    verify_consistency(old.size, new.size, old.root, new.root, growth)
    header, batch = decode_batch(wire[7])
    assert (header.source, header.seq) == ("plc-7", 7)
    assert np.array_equal(batch.value, _batch(7).value)

    # a changed sample no longer matches the proven leaf
    tampered = batch.value.copy()
    tampered[3] += 0.001
    forged = SignedBatch(header, SampleBatch(batch.tag_id, batch.ts, tampered, batch.quality,
                                             batch.ts_gateway), None)
    with pytest.raises(RootMismatchError):
        verify_inclusion(forged.leaf_hash(), 7, old.size, proof, old.root)

    # the log reopened from its file still answers the same
    with FileLeafStore(tmp_path / "ledger" / "leaves.bin") as store:
        assert MerkleLog(store).root() == new.root
