"""Trust you can check: gateway signing identities, signed batches, an RFC 9162 Merkle log with
inclusion and consistency proofs, and signed tree heads as C2SP tlog checkpoints.

See docs/integrity.md for the model and the file formats.
"""

from __future__ import annotations

from isthmus.integrity.canonical import BatchHeader, decode_batch, encode_batch
from isthmus.integrity.checkpoint import Checkpoint
from isthmus.integrity.envelope import (
    SequenceTracker,
    SignedBatch,
    keyring,
    sign_batch,
    verify_batch,
)
from isthmus.integrity.errors import (
    BadSignatureError,
    CanonicalFormError,
    CheckpointError,
    EnvelopeError,
    IdentityError,
    IntegrityError,
    KeyPermissionError,
    MalformedNoteError,
    NoteError,
    NoteVerificationError,
    OutOfOrderBatchError,
    ProofError,
    ProofInputError,
    ProofLengthError,
    ReplayedBatchError,
    RootMismatchError,
    TreeError,
    UnknownGatewayError,
    UnsignedBatchError,
    VerifierKeyError,
)
from isthmus.integrity.hashing import EMPTY_ROOT, HASH_SIZE, leaf_hash, node_hash
from isthmus.integrity.identity import GatewayIdentity
from isthmus.integrity.note import (
    NoteSigner,
    NoteVerifier,
    OpenedNote,
    SignedNote,
    open_note,
    sign_note,
)
from isthmus.integrity.proofs import (
    root_from_inclusion_proof,
    verify_consistency,
    verify_inclusion,
)
from isthmus.integrity.store import FileLeafStore, LeafStore, MemoryLeafStore
from isthmus.integrity.tree import CompactRange, MerkleLog

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "BadSignatureError",
    "BatchHeader",
    "CanonicalFormError",
    "Checkpoint",
    "CheckpointError",
    "CompactRange",
    "EnvelopeError",
    "FileLeafStore",
    "GatewayIdentity",
    "IdentityError",
    "IntegrityError",
    "KeyPermissionError",
    "LeafStore",
    "MalformedNoteError",
    "MemoryLeafStore",
    "MerkleLog",
    "NoteError",
    "NoteSigner",
    "NoteVerificationError",
    "NoteVerifier",
    "OpenedNote",
    "OutOfOrderBatchError",
    "ProofError",
    "ProofInputError",
    "ProofLengthError",
    "ReplayedBatchError",
    "RootMismatchError",
    "SequenceTracker",
    "SignedBatch",
    "SignedNote",
    "TreeError",
    "UnknownGatewayError",
    "UnsignedBatchError",
    "VerifierKeyError",
    "decode_batch",
    "encode_batch",
    "keyring",
    "leaf_hash",
    "node_hash",
    "open_note",
    "root_from_inclusion_proof",
    "sign_batch",
    "sign_note",
    "verify_batch",
    "verify_consistency",
    "verify_inclusion",
]
