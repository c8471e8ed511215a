"""Signed tree heads as C2SP tlog checkpoints (c2sp.org/tlog-checkpoint): a signed note whose
text is the origin, the tree size in decimal, the base64 root hash, then optional extension
lines. Isthmus adds one extension line, `timestamp <ns since the epoch, UTC>`, when asked.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from isthmus.integrity.errors import CheckpointError
from isthmus.integrity.hashing import HASH_SIZE
from isthmus.integrity.note import NoteSigner, NoteVerifier, open_note, sign_note

__all__ = ["TIMESTAMP_EXTENSION", "Checkpoint"]

#: Extension line prefix of the signing time Isthmus may add: `timestamp 1764130000000000000`.
TIMESTAMP_EXTENSION = "timestamp "
_SIZE = re.compile(r"0|[1-9][0-9]*")
_TIMESTAMP = re.compile(r"timestamp (0|[1-9][0-9]*)")


def _check_line(line: str, what: str) -> str:
    if not isinstance(line, str) or not line:
        raise CheckpointError(f"checkpoint {what} must be a non-empty string")
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F or 0xD800 <= ord(ch) <= 0xDFFF for ch in line):
        raise CheckpointError(
            f"checkpoint {what} {line!r} contains a control character or unpaired surrogate"
        )
    return line


@dataclass(frozen=True)
class Checkpoint:
    """The tree head of log `origin` at `size` leaves with root hash `root`."""

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _check_line(self.origin, "origin")
        if isinstance(self.size, bool) or not isinstance(self.size, int) or self.size < 0:
            raise CheckpointError(f"checkpoint size {self.size!r} is not a whole number ≥ 0")
        if not isinstance(self.root, bytes) or len(self.root) != HASH_SIZE:
            raise CheckpointError(f"checkpoint root must be {HASH_SIZE} bytes")
        for line in self.extensions:
            _check_line(line, "extension line")

    @classmethod
    def create(
        cls,
        origin: str,
        size: int,
        root: bytes,
        *,
        timestamp_ns: int | None = None,
        extensions: Sequence[str] = (),
    ) -> Checkpoint:
        """A checkpoint, with the `timestamp` extension line first when `timestamp_ns` is set."""
        lines = list(extensions)
        if timestamp_ns is not None:
            if timestamp_ns < 0:
                raise CheckpointError(f"checkpoint timestamp {timestamp_ns} is negative")
            lines.insert(0, f"{TIMESTAMP_EXTENSION}{timestamp_ns}")
        return cls(origin, size, root, tuple(lines))

    @property
    def timestamp_ns(self) -> int | None:
        """The signing time from the `timestamp` extension line, if there is one."""
        for line in self.extensions:
            match = _TIMESTAMP.fullmatch(line)
            if match:
                return int(match.group(1))
        return None

    def body(self) -> str:
        """The note text: origin, size, base64 root, extension lines, each ending in ⏎."""
        lines = [self.origin, str(self.size), base64.b64encode(self.root).decode()]
        return "".join(line + "\n" for line in (*lines, *self.extensions))

    @classmethod
    def parse(cls, body: str) -> Checkpoint:
        """Read a checkpoint note text (strictly: decimal size without leading zeros,
        canonical base64 root of 32 bytes, non-empty extension lines)."""
        if not body.endswith("\n"):
            raise CheckpointError("checkpoint text must end with a newline")
        lines = body[:-1].split("\n")
        if len(lines) < 3:
            raise CheckpointError(f"checkpoint text has {len(lines)} lines; it needs at least 3")
        origin, size, root_b64, *extensions = lines
        if not _SIZE.fullmatch(size):
            raise CheckpointError(f"checkpoint line 2: size {size!r} is not a decimal number")
        try:
            root = base64.b64decode(root_b64, validate=True)
        except (binascii.Error, ValueError):
            raise CheckpointError(f"checkpoint line 3: {root_b64!r} is not base64") from None
        if base64.b64encode(root).decode() != root_b64 or len(root) != HASH_SIZE:
            raise CheckpointError(
                f"checkpoint line 3: {root_b64!r} is not the canonical base64 of a 32-byte hash"
            )
        return cls(origin, int(size), root, tuple(extensions))

    def sign(self, signers: Sequence[NoteSigner]) -> str:
        """The checkpoint as a signed note (the log's key name should equal the origin)."""
        return sign_note(self.body(), signers)

    @classmethod
    def open(
        cls,
        note: str | bytes,
        verifiers: Iterable[NoteVerifier],
        *,
        origin: str | None = None,
    ) -> Checkpoint:
        """Verify a signed checkpoint against trusted keys and read it; with `origin`, refuse
        a checkpoint of another log."""
        checkpoint = cls.parse(open_note(note, verifiers).text)
        if origin is not None and checkpoint.origin != origin:
            raise CheckpointError(
                f"checkpoint is for log {checkpoint.origin!r}, not {origin!r}"
            )
        return checkpoint
