"""Signatures are made and checked with libsodium (PyNaCl) while the key files stay with
cryptography (OpenSSL): both must give byte-identical signatures from the same 32-byte seed,
and each must accept what the other signed, for batches, notes and arbitrary messages."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
from pathlib import Path

import numpy as np
import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from hypothesis import given, settings
from hypothesis import strategies as st

from isthmus.historian import LedgerHistorian, open_historian
from isthmus.integrity import curve
from isthmus.integrity.canonical import BatchHeader
from isthmus.integrity.envelope import SignedBatch, keyring, sign_batch, verify_batch
from isthmus.integrity.errors import BadSignatureError
from isthmus.integrity.identity import GatewayIdentity
from isthmus.integrity.ledger import BatchSigner, Ledger
from isthmus.integrity.note import (
    NoteSignature,
    NoteSigner,
    NoteVerifier,
    open_note,
    sign_note,
)
from isthmus.model import SampleBatch, Tag

# RFC 8032 §7.1, tests 1-3: secret key (seed), public key, message, signature
RFC_8032 = [
    ("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
     "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
     "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701"
     "cf9b46bd25bf5f0595bbe24655141438e7a100b"),
    ("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
     "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
     "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d"
     "0f11d8c387b2eaeb4302aeeb00d291612bb0c00"),
    ("c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
     "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82",
     "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f7609"
     "84dc6594a7c15e9716ed28dc027beceea1ec40a"),
]


@pytest.mark.parametrize(("seed", "public", "message", "signature"), RFC_8032)
def test_the_rfc_8032_vectors_sign_and_verify(seed: str, public: str, message: str,
                                              signature: str) -> None:
    signer = NoteSigner("rfc8032", Ed25519PrivateKey.from_private_bytes(bytes.fromhex(seed)))
    assert signer.verifier.public_key.hex() == public
    assert signer.sign(bytes.fromhex(message)).hex() == signature
    assert signer.verifier.verify(bytes.fromhex(message), bytes.fromhex(signature))
    assert not signer.verifier.verify(bytes.fromhex(message) + b"\x00", bytes.fromhex(signature))


def _flip(data: bytes, bit: int) -> bytes:
    raw = bytearray(data)
    raw[bit // 8 % len(raw)] ^= 1 << bit % 8
    return bytes(raw)


@given(seed=st.binary(min_size=32, max_size=32), message=st.binary(max_size=200),
       bit=st.integers(0, 511))
@settings(max_examples=60, deadline=None)
def test_both_libraries_make_the_same_signature_and_accept_each_others(
    seed: bytes, message: bytes, bit: int
) -> None:
    openssl = Ed25519PrivateKey.from_private_bytes(seed)
    sodium = NoteSigner("k", openssl)
    public = Ed25519PublicKey.from_public_bytes(sodium.verifier.public_key)
    assert sodium.verifier.public_key == openssl.public_key().public_bytes_raw()
    made_by_sodium, made_by_openssl = sodium.sign(message), openssl.sign(message)
    assert made_by_sodium == made_by_openssl  # Ed25519 is deterministic
    public.verify(made_by_sodium, message)  # OpenSSL accepts libsodium's (raises otherwise)
    assert sodium.verifier.verify(message, made_by_openssl)
    forged = _flip(made_by_openssl, bit)
    assert not sodium.verifier.verify(message, forged)
    with pytest.raises(InvalidSignature):
        public.verify(forged, message)
    if message:
        assert not sodium.verifier.verify(_flip(message, bit), made_by_openssl)


def _batch() -> SampleBatch:
    return SampleBatch.of(np.arange(1, 101), np.arange(100) * 1_000, np.linspace(0, 1, 100))


def test_a_batch_signature_is_the_same_as_openssl_makes_and_verifies_both_ways() -> None:
    openssl = Ed25519PrivateKey.generate()
    identity = GatewayIdentity("gw-x", openssl)
    signed = sign_batch(identity, BatchHeader("gw-x", "plc", 7), _batch())
    message = signed.signed_message()
    assert signed.signature == openssl.sign(message)
    openssl.public_key().verify(signed.signature or b"", message)
    by_openssl = SignedBatch(signed.header, signed.batch, openssl.sign(message))
    verify_batch(by_openssl, keyring([identity.verifier_key()]))
    wrong = SignedBatch(signed.header, signed.batch, Ed25519PrivateKey.generate().sign(message))
    with pytest.raises(BadSignatureError):
        verify_batch(wrong, keyring([identity.verifier_key()]))


def test_a_note_carries_the_signature_openssl_makes_and_opens_with_it() -> None:
    openssl = Ed25519PrivateKey.generate()
    signer = NoteSigner("log.example", openssl)
    text = "log.example\n5\nAAAA\n"
    note = sign_note(text, [signer])
    blob = base64.b64decode(note.rstrip("\n").rsplit(" ", 1)[1])
    assert blob == signer.key_id.to_bytes(4, "big") + openssl.sign(text.encode())
    assert open_note(note, [signer.verifier]).text == text
    by_openssl = text + "\n" + NoteSignature("log.example", signer.key_id,
                                             openssl.sign(text.encode())).line()
    assert by_openssl == note


@pytest.mark.parametrize("length", [0, 1, 63, 65, 128])
def test_a_signature_of_the_wrong_length_is_refused_without_an_error(length: int) -> None:
    signer = NoteSigner("k", Ed25519PrivateKey.generate())
    signature = (signer.sign(b"m") * 3)[:length]
    assert not signer.verifier.verify(b"m", signature)


def test_a_signature_in_any_bytes_like_object_verifies() -> None:
    signer = NoteSigner("k", Ed25519PrivateKey.generate())
    signature = signer.sign(b"message")
    # as with cryptography before: a caller may hold the signature in any bytes-like object
    assert signer.verifier.verify(b"message", memoryview(signature))  # type: ignore[arg-type]
    assert signer.verifier.verify(b"message", bytearray(signature))  # type: ignore[arg-type]


def test_the_verifier_made_from_the_key_is_the_one_parsed_from_its_vkey() -> None:
    signer = NoteSigner("gw", Ed25519PrivateKey.generate())
    assert NoteVerifier.parse(signer.verifier.to_vkey()) == signer.verifier


# --- a holder of the key checks its own signatures by signing again -------------------------
_L = 2**252 + 27742317777372353535851937790883648493  # order of the base point
_BASE_OR_NONE = curve._decode_point(bytes.fromhex("58" + "66" * 31))  # RFC 8032: y = 4/5
assert _BASE_OR_NONE is not None
_BASE = _BASE_OR_NONE


def _times(k: int, point: tuple[int, int]) -> tuple[int, int]:
    result = curve._IDENTITY
    while k:
        if k & 1:
            result = curve._add(result, point)
        point, k = curve._add(point, point), k >> 1
    return result


def _encode(point: tuple[int, int]) -> bytes:
    x, y = point
    return (y | (x & 1) << 255).to_bytes(32, "little")


def _sign_with_nonce(seed: bytes, message: bytes, r: int) -> bytes:
    """A valid Ed25519 signature made with nonce `r` instead of the deterministic one
    (RFC 8032 §5.1.6 with step 2 replaced): what only a holder of the key can make."""
    digest = hashlib.sha512(seed).digest()
    a = int.from_bytes(digest[:32], "little") & ((1 << 254) - 8) | 1 << 254
    public, big_r = _encode(_times(a, _BASE)), _encode(_times(r, _BASE))
    k = int.from_bytes(hashlib.sha512(big_r + public + message).digest(), "little") % _L
    return big_r + ((r + k * a) % _L).to_bytes(32, "little")


def test_the_own_key_check_agrees_with_verification_except_for_another_nonce() -> None:
    seed, message = bytes(range(32)), b"ISTB\x02\x00\x00\x00" + bytes(32)
    openssl = Ed25519PrivateKey.from_private_bytes(seed)
    signer = NoteSigner("gw", openssl)
    deterministic = signer.sign(message)
    assert _sign_with_nonce(seed, message, 0) != deterministic
    other_nonce = _sign_with_nonce(seed, message, 12345678901234567890)
    openssl.public_key().verify(other_nonce, message)  # a valid signature (raises otherwise)
    assert signer.verifier.verify(message, other_nonce)
    assert not signer.recognises(message, other_nonce)  # stricter, as documented
    assert signer.recognises(message, deterministic)
    for forged in (_flip(deterministic, 3), _flip(deterministic, 300), deterministic[:63], b""):
        assert not signer.recognises(message, forged)
        assert not signer.verifier.verify(message, forged)


def test_the_ledger_checks_its_own_batches_by_signing_and_others_with_their_key(
    tmp_path: Path,
) -> None:
    historian = open_historian(f"sqlite:///{tmp_path / 'h.db'}")
    assert isinstance(historian, LedgerHistorian)
    registry = historian.register_tags([Tag("acme/plant/area/line/cell/asset/t1")])
    own = GatewayIdentity("own-gw", Ed25519PrivateKey.from_private_bytes(bytes(range(32))))
    other = GatewayIdentity.generate("other-gw")
    ledger = Ledger(historian, own, extra_keys=[other.verifier])
    tag_id = registry.id_of("acme/plant/area/line/cell/asset/t1")
    batch = SampleBatch.of([tag_id] * 3, [1, 2, 3], [1.0, 2.0, 3.0])
    good, theirs = BatchSigner(own).sign("plc", batch), BatchSigner(other).sign("plc", batch)
    assert good.signature == own.signer.sign(good.envelope().signed_message())
    second = dataclasses.replace(good, header=BatchHeader("own-gw", "plc", 1))
    renonced = dataclasses.replace(second, signature=_sign_with_nonce(
        bytes(range(32)), second.envelope().signed_message(), 99))
    verify_batch(renonced.envelope(), ledger.keys)  # valid for anyone with the public key
    admission = ledger.admit([good, theirs, renonced])  # renonced: the next seq of own-gw
    assert [s.header.gateway_id for s in admission.accepted] == ["own-gw", "other-gw"]
    assert [type(e) for _, e in admission.refused] == [BadSignatureError]
    historian.close()
