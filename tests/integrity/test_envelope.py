"""Signed batches: a receiver accepts what the gateway signed, once and in order, and refuses
unsigned, forged, tampered, replayed and out-of-order batches with typed errors."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from isthmus.integrity import (
    BadSignatureError,
    BatchHeader,
    CanonicalFormError,
    EnvelopeError,
    GatewayIdentity,
    OutOfOrderBatchError,
    ReplayedBatchError,
    SequenceTracker,
    SignedBatch,
    UnknownGatewayError,
    UnsignedBatchError,
    keyring,
    leaf_hash,
    sign_batch,
    verify_batch,
)
from isthmus.integrity.canonical import signed_message
from isthmus.model import SampleBatch

GW = GatewayIdentity.generate("gw-1")
KEYS = keyring([GW.verifier_key()])


def _batch(n: int = 3) -> SampleBatch:
    return SampleBatch.of(np.arange(n), np.arange(n) * 1_000, np.linspace(0, 1, n))


def _signed(seq: int, source: str = "plc-1") -> SignedBatch:
    return sign_batch(GW, BatchHeader("gw-1", source, seq), _batch())


def test_a_signed_batch_verifies_with_the_gateway_key() -> None:
    signed = _signed(0)
    assert len(signed.signature or b"") == 64
    verify_batch(signed, KEYS)
    assert signed.leaf_hash() == leaf_hash(signed.payload)


def test_an_unsigned_batch_is_refused() -> None:
    for signature in (None, b""):
        with pytest.raises(UnsignedBatchError, match="batch 0 of gw-1/plc-1"):
            verify_batch(SignedBatch(BatchHeader("gw-1", "plc-1", 0), _batch(), signature), KEYS)


def test_a_batch_of_an_unknown_gateway_is_refused() -> None:
    stranger = GatewayIdentity.generate("gw-9")
    signed = sign_batch(stranger, BatchHeader("gw-9", "plc-1", 0), _batch())
    with pytest.raises(UnknownGatewayError, match="gw-9"):
        verify_batch(signed, KEYS)


def test_a_batch_signed_by_another_key_under_the_same_name_is_refused() -> None:
    impostor = GatewayIdentity.generate("gw-1")
    with pytest.raises(BadSignatureError):
        verify_batch(sign_batch(impostor, BatchHeader("gw-1", "plc-1", 0), _batch()), KEYS)


@pytest.mark.parametrize("column", ["tag_id", "ts", "value", "quality", "ts_gateway"])
def test_changing_any_column_breaks_the_signature(column: str) -> None:
    signed = _signed(0)
    values = {name: getattr(signed.batch, name).copy() for name in
              ("tag_id", "ts", "value", "quality", "ts_gateway")}
    values[column][1] += 1
    tampered = SignedBatch(signed.header, SampleBatch(**values), signed.signature)
    with pytest.raises(BadSignatureError, match="does not verify"):
        verify_batch(tampered, KEYS)


def test_changing_the_header_or_the_signature_breaks_it() -> None:
    signed = _signed(5)
    for header in (BatchHeader("gw-1", "plc-1", 6), BatchHeader("gw-1", "plc-2", 5)):
        with pytest.raises(BadSignatureError):
            verify_batch(SignedBatch(header, signed.batch, signed.signature), KEYS)
    sig = bytearray(signed.signature or b"")
    sig[10] ^= 0x01
    for bad in (bytes(sig), bytes(sig[:63])):
        with pytest.raises(BadSignatureError):
            verify_batch(SignedBatch(signed.header, signed.batch, bad), KEYS)


def test_nan_payload_bits_do_not_break_the_signature() -> None:
    values = np.array([0x7FF8000000000000, 0xFFF8000000000001], np.uint64).view(np.float64)
    header = BatchHeader("gw-1", "plc-1", 0)
    signed = sign_batch(GW, header, SampleBatch.of([1, 2], [1, 2], values))
    other_nans = SampleBatch.of([1, 2], [1, 2], [np.nan, np.nan])
    verify_batch(SignedBatch(header, other_nans, signed.signature), KEYS)


def test_a_gateway_cannot_sign_for_another_gateway() -> None:
    with pytest.raises(EnvelopeError, match="cannot sign a batch of gateway 'gw-2'"):
        sign_batch(GW, BatchHeader("gw-2", "plc-1", 0), _batch())


def test_tracker_accepts_each_stream_in_order_once() -> None:
    tracker = SequenceTracker()
    for seq in (7, 8, 9):  # a new stream opens at whatever number comes first
        verify_batch(_signed(seq), KEYS, tracker)
    verify_batch(_signed(0, source="plc-2"), KEYS, tracker)  # streams are per source
    assert tracker.last("gw-1", "plc-1") == 9
    assert tracker.last("gw-1", "plc-2") == 0
    assert tracker.last("gw-1", "plc-3") is None


def test_a_replayed_batch_is_refused_and_changes_nothing() -> None:
    tracker = SequenceTracker()
    for seq in range(3):
        verify_batch(_signed(seq), KEYS, tracker)
    for seq in (2, 0):
        with pytest.raises(ReplayedBatchError, match="the last accepted is 2") as info:
            verify_batch(_signed(seq), KEYS, tracker)
        assert (info.value.seq, info.value.last) == (seq, 2)
    assert tracker.last("gw-1", "plc-1") == 2


def test_a_gap_is_refused_until_the_missing_batches_arrive() -> None:
    tracker = SequenceTracker()
    verify_batch(_signed(0), KEYS, tracker)
    with pytest.raises(OutOfOrderBatchError, match="expected 1") as info:
        verify_batch(_signed(3), KEYS, tracker)
    assert info.value.missing == range(1, 3)
    for seq in (1, 2, 3):
        verify_batch(_signed(seq), KEYS, tracker)
    assert tracker.last("gw-1", "plc-1") == 3


def test_an_acknowledged_gap_lets_the_stream_go_on() -> None:
    tracker = SequenceTracker()
    verify_batch(_signed(0), KEYS, tracker)
    with pytest.raises(OutOfOrderBatchError) as info:
        verify_batch(_signed(5), KEYS, tracker)
    tracker.acknowledge_gap(info.value)
    verify_batch(_signed(5), KEYS, tracker)
    with pytest.raises(ReplayedBatchError):
        verify_batch(_signed(2), KEYS, tracker)


def test_a_forged_batch_never_moves_the_tracker() -> None:
    tracker = SequenceTracker()
    verify_batch(_signed(0), KEYS, tracker)
    forged = SignedBatch(BatchHeader("gw-1", "plc-1", 1), _batch(), b"\x00" * 64)
    with pytest.raises(BadSignatureError):
        verify_batch(forged, KEYS, tracker)
    verify_batch(_signed(1), KEYS, tracker)


def test_tracker_positions_survive_a_restart() -> None:
    tracker = SequenceTracker()
    verify_batch(_signed(0), KEYS, tracker)
    restarted = SequenceTracker(tracker.positions())
    with pytest.raises(ReplayedBatchError):
        verify_batch(_signed(0), KEYS, restarted)
    verify_batch(_signed(1), KEYS, restarted)


def test_keyring_refuses_two_keys_for_one_gateway() -> None:
    other = GatewayIdentity.generate("gw-1")
    assert keyring([GW.verifier, GW.verifier_key()]) == {"gw-1": GW.verifier}
    with pytest.raises(EnvelopeError, match="two different keys"):
        keyring([GW.verifier_key(), other.verifier_key()])


def test_the_signature_covers_the_version_2_message_of_the_leaf_hash() -> None:
    signed = _signed(3)
    message = (b"ISTB" + (2).to_bytes(2, "little") + (0).to_bytes(2, "little")
               + hashlib.sha256(b"\x00" + signed.payload).digest())
    Ed25519PublicKey.from_public_bytes(GW.public_key).verify(signed.signature or b"", message)
    assert signed.signed_message() == message and len(message) == 40


def test_a_signature_over_the_canonical_bytes_themselves_is_refused() -> None:
    signed = _signed(4)  # the version-1 way: Ed25519 over the whole canonical encoding
    old_style = SignedBatch(signed.header, signed.batch, GW.sign(signed.payload))
    with pytest.raises(BadSignatureError):
        verify_batch(old_style, KEYS)


def test_a_signed_message_needs_a_32_byte_digest() -> None:
    with pytest.raises(CanonicalFormError, match="32 bytes, not 31"):
        signed_message(b"\x00" * 31)
