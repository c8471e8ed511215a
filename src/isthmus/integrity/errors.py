"""Exceptions raised by the integrity package, as one tree.

    IntegrityError
    ├── ProofError                  a Merkle proof does not prove what it claims
    │   ├── ProofInputError         bad arguments: index ≥ size, size1 > size2, hash not 32 bytes
    │   ├── ProofLengthError        the proof has too many or too few hashes for the sizes
    │   └── RootMismatchError       the proof leads to a different root than the one given
    ├── TreeError                   the log cannot answer (size beyond its end, damaged store)
    ├── IdentityError               the gateway key cannot be loaded or created
    │   └── KeyPermissionError      the key file or its folder is open to group or others
    ├── EnvelopeError               a signed batch is refused
    │   ├── CanonicalFormError      bytes that are not a canonical batch encoding
    │   ├── UnsignedBatchError      the batch carries no signature
    │   ├── UnknownGatewayError     no public key is known for the batch's gateway
    │   ├── BadSignatureError       the signature does not verify
    │   ├── ReplayedBatchError      seq ≤ the last one accepted for that gateway and source
    │   └── OutOfOrderBatchError    seq skips ahead of last + 1 (batches missing in between)
    ├── NoteError                   a signed note is refused
    │   ├── MalformedNoteError      not a signed note (syntax)
    │   ├── VerifierKeyError        not a usable verifier key (`name+hexid+base64`, strong key)
    │   └── NoteVerificationError   no trusted signature verifies, or a trusted one fails
    └── CheckpointError             a note body that is not a tlog checkpoint

Errors are raised, never returned; every message names the value at fault and why.
"""

from __future__ import annotations

__all__ = [
    "BadSignatureError",
    "CanonicalFormError",
    "CheckpointError",
    "EnvelopeError",
    "IdentityError",
    "IntegrityError",
    "KeyPermissionError",
    "MalformedNoteError",
    "NoteError",
    "NoteVerificationError",
    "OutOfOrderBatchError",
    "ProofError",
    "ProofInputError",
    "ProofLengthError",
    "ReplayedBatchError",
    "RootMismatchError",
    "TreeError",
    "UnknownGatewayError",
    "UnsignedBatchError",
    "VerifierKeyError",
]


class IntegrityError(Exception):
    """Root of every integrity error."""


class ProofError(IntegrityError):
    """A Merkle inclusion or consistency proof was refused."""


class ProofInputError(ProofError, ValueError):
    """Arguments that no proof can satisfy (index out of range, sizes reversed, bad hash size)."""


class ProofLengthError(ProofError):
    """The proof holds more or fewer hashes than the tree sizes call for."""


class RootMismatchError(ProofError):
    """The root computed from the proof differs from the expected root."""


class TreeError(IntegrityError):
    """The Merkle log cannot answer: a size beyond its end, or a damaged leaf store."""


class IdentityError(IntegrityError):
    """The gateway's signing identity cannot be loaded or created."""


class KeyPermissionError(IdentityError):
    """The private key file or its folder can be read by group or others."""


class EnvelopeError(IntegrityError):
    """A signed batch was refused."""


class CanonicalFormError(EnvelopeError, ValueError):
    """Bytes that are not a valid canonical batch encoding, or a header that cannot be encoded."""


class UnsignedBatchError(EnvelopeError):
    """The batch carries no signature."""


class UnknownGatewayError(EnvelopeError):
    """No public key is known for the gateway named in the batch header."""


class BadSignatureError(EnvelopeError):
    """The signature does not verify over the canonical encoding of the batch."""


class _StreamPositionError(EnvelopeError):
    """A batch whose sequence number does not follow the last one accepted for its stream."""

    def __init__(self, message: str, *, gateway_id: str, source: str, seq: int, last: int) -> None:
        super().__init__(message)
        self.gateway_id = gateway_id
        self.source = source
        self.seq = seq
        self.last = last


class ReplayedBatchError(_StreamPositionError):
    """The sequence number was already seen (seq ≤ last accepted) for that gateway and source."""


class OutOfOrderBatchError(_StreamPositionError):
    """The sequence number skips ahead: batches last + 1 … seq - 1 are missing."""

    @property
    def missing(self) -> range:
        """The sequence numbers of the batches that did not arrive."""
        return range(self.last + 1, self.seq)


class NoteError(IntegrityError):
    """A signed note was refused."""


class MalformedNoteError(NoteError, ValueError):
    """Text that is not a well-formed signed note."""


class VerifierKeyError(NoteError, ValueError):
    """Text that is not a well-formed Ed25519 verifier key."""


class NoteVerificationError(NoteError):
    """No signature from a trusted key verifies, or a trusted key's signature fails."""


class CheckpointError(IntegrityError, ValueError):
    """A note text that is not a tlog checkpoint (origin, size, root hash, extensions)."""
