"""C2SP signed notes: the specification's Ed25519 example verifies with its published key and
fails when any byte changes; the Go sumdb/note example is reproduced byte for byte; unknown
keys are ignored and malformed notes are refused."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from isthmus.integrity import (
    MalformedNoteError,
    NoteError,
    NoteSigner,
    NoteVerificationError,
    NoteVerifier,
    SignedNote,
    VerifierKeyError,
    open_note,
    sign_note,
)
from isthmus.integrity.note import MAX_SIGNATURES, key_id
from tests.integrity.data import load_notes

NOTES = load_notes()
SPEC = NOTES["c2sp_signed_note_example"]
GO = NOTES["go_sumdb_note_example"]


def test_the_signed_note_spec_example_verifies_with_its_published_key() -> None:
    verifier = NoteVerifier.parse(SPEC["verifier_key"])
    assert (verifier.name, verifier.key_id) == ("example.com/foo", 0x530D903A)
    assert verifier.to_vkey() == SPEC["verifier_key"]
    opened = open_note(SPEC["note"], [verifier])
    assert opened.text == SPEC["text"]
    assert opened.verified_by == (verifier,)


def test_the_spec_example_fails_when_any_single_byte_changes() -> None:
    verifier = NoteVerifier.parse(SPEC["verifier_key"])
    note = SPEC["note"].encode()
    for i in range(len(note)):
        changed = bytearray(note)
        changed[i] ^= 0x01
        with pytest.raises(NoteError):
            open_note(bytes(changed), [verifier])


def _go_signer() -> NoteSigner:
    _, _, name, _, material = GO["signer_key"].split("+", 4)
    raw = base64.b64decode(material)
    assert raw[0] == 0x01
    return NoteSigner(name, Ed25519PrivateKey.from_private_bytes(raw[1:]))


def test_the_go_sumdb_example_is_verified_and_signed_byte_for_byte() -> None:
    signer = _go_signer()
    assert signer.verifier.to_vkey() == GO["verifier_key"]
    assert sign_note(GO["text"], [signer]) == GO["note"]
    assert open_note(GO["note"], [NoteVerifier.parse(GO["verifier_key"])]).text == GO["text"]


def test_the_spec_opening_example_parses_but_no_key_is_published_for_it() -> None:
    quasimodo = NOTES["c2sp_signed_note_quasimodo"]
    note = SignedNote.parse(quasimodo["note"])
    assert note.text == quasimodo["text"]  # the last blank line separates, not the first
    (sig,) = note.signatures
    assert (sig.name, f"{sig.key_id:08x}", len(sig.signature)) == (
        "quasimodo.example/salvatore", quasimodo["key_id"], 64)
    assert str(note) == quasimodo["note"]
    with pytest.raises(NoteVerificationError, match="no signature from a trusted key"):
        open_note(quasimodo["note"], [NoteVerifier.parse(SPEC["verifier_key"])])


def test_unknown_keys_are_ignored_and_every_known_key_is_reported() -> None:
    a = NoteSigner("a.example/log", Ed25519PrivateKey.generate())
    b = NoteSigner("b.example/witness", Ed25519PrivateKey.generate())
    stranger = NoteSigner("a.example/log", Ed25519PrivateKey.generate())  # same name, other id
    note = sign_note("hello\n", [stranger, a, b])
    assert open_note(note, [a.verifier]).verified_by == (a.verifier,)
    assert open_note(note, [a.verifier, b.verifier]).verified_by == (a.verifier, b.verifier)
    with pytest.raises(NoteVerificationError, match="trusted: none"):
        open_note(note, [])


def test_a_key_that_signed_twice_is_reported_once() -> None:
    a = NoteSigner("a.example/log", Ed25519PrivateKey.generate())
    assert open_note(sign_note("hello\n", [a, a]), [a.verifier]).verified_by == (a.verifier,)


def test_a_failing_signature_from_a_known_key_rejects_the_whole_note() -> None:
    a = NoteSigner("a.example/log", Ed25519PrivateKey.generate())
    b = NoteSigner("b.example/witness", Ed25519PrivateKey.generate())
    good = SignedNote.parse(sign_note("hello\n", [a, b]))
    bad_b = type(good.signatures[1])(b.name, b.key_id, bytes(64))
    note = str(SignedNote(good.text, (good.signatures[0], bad_b)))
    with pytest.raises(NoteVerificationError, match=r"b\.example/witness .* does not verify"):
        open_note(note, [a.verifier, b.verifier])


def test_a_note_may_carry_many_signatures_but_not_more_than_the_limit() -> None:
    signers = [NoteSigner(f"k{i}", Ed25519PrivateKey.generate()) for i in range(16)]
    note = sign_note("text\n", signers)
    assert len(open_note(note, [s.verifier for s in signers]).verified_by) == 16
    line = SignedNote.parse(note).signatures[0].line()
    too_many = "text\n\n" + line * (MAX_SIGNATURES + 1)
    with pytest.raises(MalformedNoteError, match="at most 100"):
        SignedNote.parse(too_many)


SIG = "\u2014 k AAAAAAAA\n"


@pytest.mark.parametrize(
    ("note", "message"),
    [
        ("text\n", "blank line"),
        ("text\n\n" + SIG[:-1], "blank line"),
        ("text\n\n- k AAAAAAAA\n", "does not start with"),
        ("text\n\n\u2014 k  AAAAAAAA\n", "is not '— <name> <base64>'"),
        ("text\n\n\u2014 k+1 AAAAAAAA\n", "must not contain"),
        ("text\n\n\u2014 k AAAA!AAA\n", "not base64"),
        ("text\n\n\u2014 k AAAAAAB=\n", "not canonical base64"),
        ("text\n\n\u2014 k AAAA\n", "key id is 4"),
        ("te\x01xt\n\n" + SIG, "line 1: character"),
        ("te\ud800xt\n\n" + SIG, "line 1: character"),
        ("text\n\n" + SIG + "\n", "does not start with"),
        (b"\xfftext\n\n" + SIG.encode(), "not valid UTF-8"),
    ],
)
def test_malformed_notes_are_refused_with_the_reason(note: str | bytes, message: str) -> None:
    with pytest.raises(MalformedNoteError, match=message):
        SignedNote.parse(note)


def test_sign_note_refuses_text_it_cannot_sign() -> None:
    signer = NoteSigner("k", Ed25519PrivateKey.generate())
    for text in ("", "no newline", "tab\there\n"):
        with pytest.raises(MalformedNoteError):
            sign_note(text, [signer])
    with pytest.raises(MalformedNoteError, match="at least one signer"):
        sign_note("text\n", [])


@pytest.mark.parametrize(
    ("vkey", "message"),
    [
        ("example.com/foo", "name\\+keyid\\+key"),
        ("example.com/foo+530D903A+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k", "8 hex"),
        ("example.com/foo+530d903b+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k", "does not match"),
        ("example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2", "base64"),
        ("example.com/foo+530d903a+AukyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k", "Ed25519"),
        ("a b+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k", "must not contain"),
        ("+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k", "non-empty"),
    ],
)
def test_malformed_verifier_keys_are_refused(vkey: str, message: str) -> None:
    with pytest.raises(VerifierKeyError, match=message):
        NoteVerifier.parse(vkey)


#: Encodings of the 8 points of order dividing 8, two non-canonical encodings (y ≥ p) and the
#: identity with its sign bit set (x = 0 has no negative).
WEAK_KEYS = [
    "01" + "00" * 31,
    "ec" + "ff" * 30 + "7f",
    "00" * 32,
    "00" * 31 + "80",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",
    "ed" + "ff" * 30 + "7f",
    "ee" + "ff" * 30 + "7f",
    "01" + "00" * 30 + "80",
]


@pytest.mark.parametrize("key", WEAK_KEYS)
def test_small_order_and_non_canonical_public_keys_are_refused(key: str) -> None:
    raw = bytes.fromhex(key)
    with pytest.raises(VerifierKeyError, match="would accept forged signatures"):
        NoteVerifier("k", raw)
    material = base64.b64encode(b"\x01" + raw).decode()
    vkey = f"k+{key_id('k', 1, raw):08x}+{material}"
    with pytest.raises(VerifierKeyError, match="would accept forged signatures"):
        NoteVerifier.parse(vkey)


def test_a_point_that_is_not_on_the_curve_is_refused() -> None:
    # y = 2 has no x on the curve: (y² - 1) / (d·y² + 1) is not a square mod p
    with pytest.raises(VerifierKeyError, match="not a canonical point"):
        NoteVerifier("k", (2).to_bytes(32, "little"))


def test_key_names_with_control_characters_and_short_keys_are_refused() -> None:
    key = NoteSigner("k", Ed25519PrivateKey.generate()).verifier.public_key
    for name in ("a\x7fb", "a\ud800"):
        with pytest.raises(VerifierKeyError, match="control"):
            NoteVerifier(name, key)
    with pytest.raises(VerifierKeyError, match="32 bytes, not 31"):
        NoteVerifier("a", bytes(31))


def test_key_id_is_the_recommended_hash() -> None:
    verifier = NoteVerifier.parse(SPEC["verifier_key"])
    assert key_id("example.com/foo", 1, verifier.public_key) == 0x530D903A
    assert key_id("example.com/foo", 4, verifier.public_key) != 0x530D903A


lines = st.text(
    alphabet=st.characters(min_codepoint=0x20, blacklist_characters="\x7f",
                           blacklist_categories=("Cs",)),
    max_size=40,
)


@given(body=st.lists(lines, min_size=1, max_size=6), count=st.integers(1, 3))
@settings(max_examples=50, deadline=None)
def test_any_signed_text_opens_to_itself(body: list[str], count: int) -> None:
    text = "".join(line + "\n" for line in body)
    signers = [NoteSigner(f"k{i}.example", Ed25519PrivateKey.generate()) for i in range(count)]
    note = sign_note(text, signers)
    assert str(SignedNote.parse(note)) == note
    assert open_note(note, [signers[-1].verifier]).text == text


@given(st.one_of(st.text(max_size=200), st.binary(max_size=200)))
@settings(max_examples=200, deadline=None)
def test_parsing_arbitrary_input_raises_only_malformed_note_errors(data: str | bytes) -> None:
    try:
        note = SignedNote.parse(data)
    except MalformedNoteError:
        return
    assert str(note).encode() == (data if isinstance(data, bytes) else data.encode())
