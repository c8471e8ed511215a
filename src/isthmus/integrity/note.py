"""C2SP signed notes (c2sp.org/signed-note) with Ed25519 keys: verifier keys
`<name>+<hex key id>+<base64(0x01 ‖ public key)>`, notes `text ⏎ ⏎ — <name> <base64(id ‖ sig)>`.

Signatures from unknown keys are ignored; a note opens only if a trusted key's signature
verifies, and it is refused whole if any trusted key's signature fails.

Signing and verification run in libsodium (PyNaCl), ≈ 1.5× faster to sign and ≈ 1.7× to
verify than cryptography's OpenSSL, which still reads and writes the key files. Ed25519 is
deterministic, so both give the same signature bytes. libsodium also refuses signatures whose
R is a point of small order and keys of small order (as `is_weak_public_key` does first);
an honest signer never makes either, so honest signatures verify in both.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from nacl.bindings import crypto_sign, crypto_sign_open, crypto_sign_seed_keypair
from nacl.exceptions import BadSignatureError

from isthmus.integrity.curve import is_weak_public_key
from isthmus.integrity.errors import MalformedNoteError, NoteVerificationError, VerifierKeyError

__all__ = [
    "ED25519",
    "MAX_SIGNATURES",
    "SIGNATURE_SIZE",
    "NoteSignature",
    "NoteSigner",
    "NoteVerifier",
    "OpenedNote",
    "SignedNote",
    "check_key_name",
    "key_id",
    "open_note",
    "sign_note",
]

#: Signature type byte of Ed25519 in signed-note.
ED25519 = 0x01
#: Size of an Ed25519 signature.
SIGNATURE_SIZE = 64
#: Most signature lines a note may carry (the spec requires accepting at least 16).
MAX_SIGNATURES = 100
_SIG_PREFIX = "\u2014 "  # em dash, space
_HEX_ID = re.compile(r"[0-9a-f]{8}")


def check_key_name(name: str) -> str:
    """Return `name` if it is a valid key name: non-empty, no Unicode space, no '+'."""
    if not isinstance(name, str) or not name:
        raise VerifierKeyError("a key name must be a non-empty string")
    if "+" in name or any(ch.isspace() for ch in name):
        raise VerifierKeyError(f"key name {name!r} must not contain spaces or '+'")
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F or 0xD800 <= ord(ch) <= 0xDFFF for ch in name):
        raise VerifierKeyError(
            f"key name {name!r} must not contain control characters or unpaired surrogates"
        )
    return name


def key_id(name: str, key_type: int, public_key: bytes) -> int:
    """SHA-256(name ‖ 0x0A ‖ type ‖ public key)[:4] as a big-endian uint32."""
    digest = hashlib.sha256(name.encode() + b"\n" + bytes([key_type]) + public_key).digest()
    return int.from_bytes(digest[:4], "big")


def _b64decode(text: str, what: str) -> bytes:
    """Strict standard base64: valid alphabet, padding, and canonical (re-encodes the same)."""
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise MalformedNoteError(f"{what} is not base64: {exc}") from None
    if base64.b64encode(raw).decode() != text:
        raise MalformedNoteError(f"{what} is not canonical base64")
    return raw


@dataclass(frozen=True)
class NoteVerifier:
    """An Ed25519 public key under a name, as trusted by whoever verifies notes."""

    name: str
    public_key: bytes

    def __post_init__(self) -> None:
        check_key_name(self.name)
        if len(self.public_key) != 32:
            raise VerifierKeyError(f"an Ed25519 public key is 32 bytes, not {len(self.public_key)}")
        if is_weak_public_key(self.public_key):
            raise VerifierKeyError(
                f"public key {self.public_key.hex()} of {self.name!r} is not a canonical point "
                "or has small order: it would accept forged signatures"
            )

    @property
    def key_id(self) -> int:
        return key_id(self.name, ED25519, self.public_key)

    @classmethod
    def from_public_key(cls, name: str, public_key: Ed25519PublicKey) -> NoteVerifier:
        return cls(name, public_key.public_bytes(Encoding.Raw, PublicFormat.Raw))

    @classmethod
    def parse(cls, vkey: str) -> NoteVerifier:
        """Read a verifier key `<name>+<8 hex digits>+<base64(0x01 ‖ 32-byte key)>`."""
        parts = vkey.strip().split("+", 2)
        if len(parts) != 3:
            raise VerifierKeyError(f"verifier key {vkey!r} is not name+keyid+key")
        name, hex_id, b64 = parts
        if not _HEX_ID.fullmatch(hex_id):
            raise VerifierKeyError(f"verifier key {vkey!r}: key id {hex_id!r} is not 8 hex digits")
        try:
            raw = _b64decode(b64, f"verifier key {vkey!r}")
        except MalformedNoteError as exc:
            raise VerifierKeyError(str(exc)) from None
        if len(raw) != 33 or raw[0] != ED25519:
            raise VerifierKeyError(f"verifier key {vkey!r} is not an Ed25519 key (type 0x01)")
        verifier = cls(check_key_name(name), raw[1:])
        if verifier.key_id != int(hex_id, 16):
            raise VerifierKeyError(
                f"verifier key {vkey!r}: key id {hex_id} does not match the key "
                f"({verifier.key_id:08x})"
            )
        return verifier

    def to_vkey(self) -> str:
        material = base64.b64encode(bytes([ED25519]) + self.public_key).decode()
        return f"{self.name}+{self.key_id:08x}+{material}"

    def verify(self, message: bytes, signature: bytes) -> bool:
        """True if `signature` is this key's Ed25519 signature of `message`."""
        if len(signature) != SIGNATURE_SIZE:
            return False
        try:  # libsodium wants signature ‖ message; it releases the GIL while it works
            crypto_sign_open(bytes(signature) + bytes(message), self.public_key)
        except BadSignatureError:
            return False
        return True


class NoteSigner:
    """An Ed25519 private key under a name."""

    def __init__(self, name: str, private_key: Ed25519PrivateKey) -> None:
        # the same 32-byte seed gives the same key pair in both libraries (RFC 8032 §5.1.5)
        public_key, self._secret = crypto_sign_seed_keypair(private_key.private_bytes_raw())
        self.verifier = NoteVerifier(check_key_name(name), public_key)

    @property
    def name(self) -> str:
        return self.verifier.name

    @property
    def key_id(self) -> int:
        return self.verifier.key_id

    def sign(self, message: bytes) -> bytes:
        """The 64-byte Ed25519 signature of `message` (crypto_sign returns it ‖ message)."""
        signed: bytes = crypto_sign(bytes(message), self._secret)
        return signed[:SIGNATURE_SIZE]

    def recognises(self, message: bytes, signature: bytes) -> bool:
        """True if `signature` is the one this key makes for `message`: what a holder of the
        private key can check instead of verifying (signing ≈ 13 µs, verifying ≈ 35 µs).
        Ed25519 signing is deterministic (RFC 8032), so this agrees with `verifier.verify`
        on every signature this key's signers make and on every forgery; it is stricter
        only for a valid signature made with another nonce, which only a holder of this
        private key could make."""
        if len(signature) != SIGNATURE_SIZE:
            return False
        return hmac.compare_digest(self.sign(message), bytes(signature))


@dataclass(frozen=True)
class NoteSignature:
    name: str
    key_id: int
    signature: bytes

    def line(self) -> str:
        blob = base64.b64encode(self.key_id.to_bytes(4, "big") + self.signature).decode()
        return f"{_SIG_PREFIX}{self.name} {blob}\n"


@dataclass(frozen=True)
class SignedNote:
    """A note text (ending in a newline) and its signature lines, as parsed (not verified)."""

    text: str
    signatures: tuple[NoteSignature, ...]

    def __str__(self) -> str:
        return self.text + "\n" + "".join(sig.line() for sig in self.signatures)

    @classmethod
    def parse(cls, data: str | bytes) -> SignedNote:
        note = _decode(data)
        split = note.rfind("\n\n")
        if split < 0 or not note.endswith("\n"):
            raise MalformedNoteError("a signed note is text, a blank line, then signature lines")
        text, block = note[: split + 1], note[split + 2 :]
        lines = block[:-1].split("\n")
        if len(lines) > MAX_SIGNATURES:
            raise MalformedNoteError(f"note has {len(lines)} signatures; at most {MAX_SIGNATURES}")
        return cls(text, tuple(_parse_signature(n, line) for n, line in enumerate(lines, 1)))


def _decode(data: str | bytes) -> str:
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise MalformedNoteError(f"note is not valid UTF-8 (byte {exc.start})") from None
    for index, ch in enumerate(data):
        code = ord(ch)
        if (code < 0x20 and ch != "\n") or code == 0x7F or 0xD800 <= code <= 0xDFFF:
            line = data.count("\n", 0, index) + 1
            raise MalformedNoteError(f"note line {line}: character {ch!r} is not allowed")
    return data


def _parse_signature(number: int, line: str) -> NoteSignature:
    if not line.startswith(_SIG_PREFIX):
        raise MalformedNoteError(f"signature line {number} does not start with '— ': {line!r}")
    fields = line[len(_SIG_PREFIX) :].split(" ")
    if len(fields) != 2:
        raise MalformedNoteError(f"signature line {number} is not '— <name> <base64>': {line!r}")
    name, blob = fields
    try:
        check_key_name(name)
    except VerifierKeyError as exc:
        raise MalformedNoteError(f"signature line {number}: {exc}") from None
    raw = _b64decode(blob, f"signature line {number}")
    if len(raw) < 5:
        raise MalformedNoteError(f"signature line {number} is {len(raw)} bytes; key id is 4")
    return NoteSignature(name, int.from_bytes(raw[:4], "big"), raw[4:])


def sign_note(text: str, signers: Sequence[NoteSigner]) -> str:
    """The signed note: `text` (non-empty, ending in a newline), a blank line, one line per
    signer."""
    if not text or not text.endswith("\n"):
        raise MalformedNoteError("note text must be non-empty and end with a newline")
    if not signers:
        raise MalformedNoteError("a signed note needs at least one signer")
    _decode(text)
    message = text.encode()
    sigs = tuple(NoteSignature(s.name, s.key_id, s.sign(message)) for s in signers)
    return str(SignedNote(text, sigs))


@dataclass(frozen=True)
class OpenedNote:
    """A note whose text is vouched for by at least one trusted key."""

    text: str
    verified_by: tuple[NoteVerifier, ...]
    note: SignedNote


def open_note(data: str | bytes, verifiers: Iterable[NoteVerifier]) -> OpenedNote:
    """Parse and verify a signed note against the trusted `verifiers`."""
    note = SignedNote.parse(data)
    known = {(v.name, v.key_id): v for v in verifiers}
    message = note.text.encode()
    verified: list[NoteVerifier] = []
    for sig in note.signatures:
        verifier = known.get((sig.name, sig.key_id))
        if verifier is None:
            continue
        if not verifier.verify(message, sig.signature):
            raise NoteVerificationError(
                f"signature by {sig.name} (key {sig.key_id:08x}) does not verify: note refused"
            )
        if verifier not in verified:
            verified.append(verifier)
    if not verified:
        signed_by = ", ".join(f"{s.name}+{s.key_id:08x}" for s in note.signatures)
        trusted = ", ".join(f"{n}+{i:08x}" for n, i in known) or "none"
        raise NoteVerificationError(
            f"no signature from a trusted key (signed by {signed_by}; trusted: {trusted})"
        )
    return OpenedNote(note.text, tuple(verified), note)
