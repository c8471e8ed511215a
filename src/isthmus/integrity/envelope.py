"""Signed batches: a gateway signs the leaf hash of each batch's canonical encoding (the
version-2 signed message of canonical.py); a receiver re-derives it, checks the signature with
the gateway's public key (or, when it holds the gateway's private key, by signing again and
comparing), then the batch's place in its source's stream.

Sequence rules (per gateway and source; numbers count 0, 1, 2, … with no gaps):

* seq ≤ last accepted          → `ReplayedBatchError`, refused (duplicate or replay);
* seq > last accepted + 1      → `OutOfOrderBatchError`, refused; the sender's store-and-forward
  retransmits in order, so a gap means batches were lost or withheld. When the loss is known
  and accepted, `SequenceTracker.acknowledge_gap(error)` moves the expectation past it;
* first batch of a stream      → accepted whatever its number. A receiver must therefore keep
  `SequenceTracker.positions()` across restarts, or an old batch could open a stream again.

The signature is checked before the sequence, so forged batches never move a tracker.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from isthmus.integrity.canonical import (
    BatchHeader,
    batch_leaf_hash,
    encode_batch,
    signed_message,
)
from isthmus.integrity.errors import (
    BadSignatureError,
    EnvelopeError,
    OutOfOrderBatchError,
    ReplayedBatchError,
    UnknownGatewayError,
    UnsignedBatchError,
)
from isthmus.integrity.hashing import leaf_hash
from isthmus.integrity.identity import GatewayIdentity
from isthmus.integrity.note import NoteSigner, NoteVerifier
from isthmus.model import SampleBatch

__all__ = [
    "SequenceTracker",
    "SignedBatch",
    "batch_signature",
    "keyring",
    "sign_batch",
    "verify_batch",
]

_SIGNATURE_SIZE = 64


@dataclass(frozen=True, eq=False)
class SignedBatch:
    """A batch, the header naming its origin, and the gateway's signature over both
    (None or empty when the batch arrived unsigned)."""

    header: BatchHeader
    batch: SampleBatch
    signature: bytes | None

    @property
    def payload(self) -> bytes:
        """The canonical bytes: the Merkle log leaf (built once, on first use)."""
        cached: bytes | None = self.__dict__.get("_payload")
        if cached is None:
            cached = encode_batch(self.header, self.batch)
            object.__setattr__(self, "_payload", cached)
        return cached

    @property
    def digest(self) -> bytes:
        """SHA-256(0x00 ‖ canonical bytes): the leaf hash, which the signature covers
        (computed once, on first use, from the canonical bytes if they were asked for
        already, else streamed from the columns)."""
        cached: bytes | None = self.__dict__.get("_digest")
        if cached is None:
            payload = self.__dict__.get("_payload")
            cached = (batch_leaf_hash(self.header, self.batch) if payload is None
                      else leaf_hash(payload))
            object.__setattr__(self, "_digest", cached)
        return cached

    def leaf_hash(self) -> bytes:
        """The Merkle log leaf hash of this batch: SHA-256(0x00 ‖ canonical bytes)."""
        return self.digest

    def signed_message(self) -> bytes:
        """The 40 bytes the signature covers (canonical.signed_message of the leaf hash)."""
        return signed_message(self.digest)


def sign_batch(identity: GatewayIdentity, header: BatchHeader, batch: SampleBatch) -> SignedBatch:
    """Sign `batch` under `header` with the gateway's key (the header must name that gateway)."""
    return SignedBatch(header, batch, batch_signature(identity, header, batch)[1])


def batch_signature(identity: GatewayIdentity, header: BatchHeader,
                    batch: SampleBatch) -> tuple[bytes, bytes]:
    """(the version-2 signed message of `batch` under `header`, its signature by the gateway's
    key); the header must name that gateway."""
    if header.gateway_id != identity.gateway_id:
        raise EnvelopeError(
            f"gateway {identity.gateway_id!r} cannot sign a batch of gateway {header.gateway_id!r}"
        )
    message = signed_message(batch_leaf_hash(header, batch))
    return message, identity.sign(message)


def keyring(verifier_keys: Iterable[str | NoteVerifier]) -> dict[str, NoteVerifier]:
    """Gateway id → public key, from verifier key lines (`<id>+<key id>+<base64>`)."""
    ring: dict[str, NoteVerifier] = {}
    for item in verifier_keys:
        verifier = NoteVerifier.parse(item) if isinstance(item, str) else item
        if verifier.name in ring and ring[verifier.name] != verifier:
            raise EnvelopeError(f"two different keys are given for gateway {verifier.name!r}")
        ring[verifier.name] = verifier
    return ring


def _describe(header: BatchHeader) -> str:
    return f"batch {header.seq} of {header.gateway_id}/{header.source}"


def verify_batch(
    signed: SignedBatch,
    keys: Mapping[str, NoteVerifier],
    tracker: SequenceTracker | None = None,
    *,
    signer: NoteSigner | None = None,
) -> None:
    """Raise unless `signed` carries a valid signature by its gateway's key (and, with a
    tracker, is the next batch of its stream; the tracker then records it).

    A receiver that holds the gateway's private key (the gateway's own historian sink)
    passes it as `signer`: a batch of that key is then checked by signing its message again
    and comparing (`NoteSigner.recognises`, deterministic Ed25519), at a third of the cost."""
    header = signed.header
    if not signed.signature:
        raise UnsignedBatchError(f"{_describe(header)} carries no signature")
    key = keys.get(header.gateway_id)
    if key is None:
        raise UnknownGatewayError(
            f"{_describe(header)}: no public key is known for gateway {header.gateway_id!r}"
        )
    signature, message = signed.signature, signed.signed_message()
    if signer is not None and signer.verifier == key:
        valid = signer.recognises(message, signature)
    else:
        valid = len(signature) == _SIGNATURE_SIZE and key.verify(message, signature)
    if not valid:
        raise BadSignatureError(
            f"{_describe(header)}: the signature does not verify with key "
            f"{key.name}+{key.key_id:08x}"
        )
    if tracker is not None:
        tracker.accept(header)


class SequenceTracker:
    """The last accepted sequence number of each (gateway id, source) stream."""

    def __init__(self, positions: Mapping[tuple[str, str], int] | None = None) -> None:
        self._last: dict[tuple[str, str], int] = dict(positions or {})

    def positions(self) -> dict[tuple[str, str], int]:
        """A copy of the state, to persist and pass back to the constructor."""
        return dict(self._last)

    def last(self, gateway_id: str, source: str) -> int | None:
        return self._last.get((gateway_id, source))

    def check(self, header: BatchHeader) -> None:
        """Raise if `header` would be refused; change nothing."""
        last = self._last.get((header.gateway_id, header.source))
        if last is None:
            return
        gateway_id, source, seq = header.gateway_id, header.source, header.seq
        if seq <= last:
            raise ReplayedBatchError(
                f"{_describe(header)} was already seen: the last accepted is {last}",
                gateway_id=gateway_id, source=source, seq=seq, last=last,
            )
        if seq > last + 1:
            raise OutOfOrderBatchError(
                f"{_describe(header)} skips ahead: expected {last + 1}, so batches "
                f"{last + 1}…{seq - 1} are missing",
                gateway_id=gateway_id, source=source, seq=seq, last=last,
            )

    def accept(self, header: BatchHeader) -> None:
        """Record `header` as the newest batch of its stream, or raise as `check` does."""
        self.check(header)
        self._last[(header.gateway_id, header.source)] = header.seq

    def acknowledge_gap(self, error: OutOfOrderBatchError) -> None:
        """Accept that the batches reported missing by `error` will never come: the batch that
        raised it becomes the next one expected."""
        self._last[(error.gateway_id, error.source)] = error.seq - 1
