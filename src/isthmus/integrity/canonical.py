"""The canonical byte encoding of a sample batch and its header: the exact bytes a gateway
signs and a receiver re-derives. Version 1, all integers little-endian:

    offset  size  field
    0       4     magic b"ISTB"
    4       2     version = 1 (uint16)
    6       2     flags = 0 (uint16, reserved)
    8       2     g = length of gateway id in UTF-8 (uint16), then g bytes
    …       2     s = length of source in UTF-8 (uint16), then s bytes
    …       8     seq (uint64), per-source sequence number
    …       8     n = number of samples (uint64)
    …       4n    tag_id     int32
    …       8n    ts         int64   ns since the epoch, UTC (source time)
    …       8n    value      float64 every NaN written as 0x7FF8000000000000
    …       4n    quality    uint32  OPC UA StatusCode
    …       8n    ts_gateway int64   ns since the epoch, UTC (gateway time)

Columns are written whole with numpy, never sample by sample. These bytes are the Merkle
log leaf; the gateway signs their leaf hash, not the bytes themselves (hash-then-sign, as
Ed25519ph does; Ed25519 would otherwise hash all 32 bytes per sample twice to sign and once
more to verify). The signed message, version 2, is 40 bytes:

    "ISTB" | version = 2 (uint16) | flags = 0 (uint16) | SHA-256(0x00 ‖ canonical bytes)

A signed-note text can never contain byte 0x01 or 0x02 (control characters are not allowed
in notes) and `decode_batch` refuses version 2, so batch, leaf and checkpoint signatures
cannot be confused.
"""

from __future__ import annotations

import functools
import hashlib
import re
import struct
from dataclasses import dataclass

import numpy as np

from isthmus.historian.ledger import value_bits
from isthmus.integrity.errors import CanonicalFormError
from isthmus.model import SampleBatch

__all__ = [
    "CANONICAL_NAN",
    "MAGIC",
    "SIGNED_VERSION",
    "VERSION",
    "BatchHeader",
    "batch_leaf_hash",
    "decode_batch",
    "encode_batch",
    "signed_message",
]

MAGIC = b"ISTB"
VERSION = 1
#: Version of the message a batch signature covers (version 1 signed the canonical bytes).
SIGNED_VERSION = 2
#: The one NaN bit pattern in the encoding (quiet NaN, sign clear).
CANONICAL_NAN = 0x7FF8000000000000

_PREAMBLE = struct.Struct("<4sHH")
_LENGTH = struct.Struct("<H")
_COUNTS = struct.Struct("<QQ")
_MAX_SEQ = (1 << 64) - 1
_COLUMNS: tuple[tuple[str, str, type[np.generic]], ...] = (
    ("tag_id", "<i4", np.int32),
    ("ts", "<i8", np.int64),
    ("value", "<f8", np.float64),
    ("quality", "<u4", np.uint32),
    ("ts_gateway", "<i8", np.int64),
)
_BYTES_PER_SAMPLE = 32
_DIGEST_SIZE = 32
_SIGNED_PREAMBLE = _PREAMBLE.pack(MAGIC, SIGNED_VERSION, 0)
_LEAF_PREFIX = b"\x00"  # RFC 9162 leaf hash prefix, as hashing.leaf_hash


_CONTROL = re.compile("[\x00-\x1f\x7f]")


def _check_name(value: str, what: str) -> bytes:
    if not isinstance(value, str) or not value:
        raise CanonicalFormError(f"batch header {what} must be a non-empty string")
    return _name_bytes(value, what)


@functools.lru_cache(maxsize=4096)  # a gateway has a few names, checked for every batch
def _name_bytes(value: str, what: str) -> bytes:
    if _CONTROL.search(value):
        raise CanonicalFormError(f"batch header {what} {value!r} contains a control character")
    try:
        raw = value.encode("utf-8")
    except UnicodeEncodeError:
        raise CanonicalFormError(f"batch header {what} {value!r} is not valid Unicode") from None
    if len(raw) > 0xFFFF:
        raise CanonicalFormError(f"batch header {what} is {len(raw)} bytes; at most 65535")
    return raw


@dataclass(frozen=True, slots=True)
class BatchHeader:
    """Who produced a batch: the gateway, the source (connector or device) within it, and the
    batch's position in that source's stream (0, 1, 2, … without gaps)."""

    gateway_id: str
    source: str
    seq: int

    def __post_init__(self) -> None:
        _check_name(self.gateway_id, "gateway_id")
        _check_name(self.source, "source")
        if isinstance(self.seq, bool) or not isinstance(self.seq, int):
            raise CanonicalFormError(f"batch header seq must be an integer, not {self.seq!r}")
        if not 0 <= self.seq <= _MAX_SEQ:
            raise CanonicalFormError(f"batch header seq {self.seq} is outside 0 … 2^64-1")


def _header_bytes(header: BatchHeader, count: int) -> bytes:
    return _names_bytes(header.gateway_id, header.source) + _COUNTS.pack(header.seq, count)


@functools.lru_cache(maxsize=4096)  # the same few (gateway, source) pairs, batch after batch
def _names_bytes(gateway_id: str, source: str) -> bytes:
    """The header up to seq: preamble, gateway id and source, each with its length."""
    gateway = _check_name(gateway_id, "gateway_id")
    source_bytes = _check_name(source, "source")
    return b"".join([_PREAMBLE.pack(MAGIC, VERSION, 0), _LENGTH.pack(len(gateway)), gateway,
                     _LENGTH.pack(len(source_bytes)), source_bytes])


def _column_buffers(batch: SampleBatch) -> list[memoryview]:
    """The five columns' bytes (contiguous little-endian arrays, no copy when a column already
    has its wire type) in encoding order, every NaN value written as the canonical NaN."""
    return [np.ascontiguousarray(batch.tag_id, dtype="<i4").data,
            np.ascontiguousarray(batch.ts, dtype="<i8").data,
            np.ascontiguousarray(value_bits(batch.value), dtype="<u8").data,
            np.ascontiguousarray(batch.quality, dtype="<u4").data,
            np.ascontiguousarray(batch.ts_gateway, dtype="<i8").data]


def encode_batch(header: BatchHeader, batch: SampleBatch) -> bytes:
    """The canonical version-1 bytes of `header` and `batch`."""
    # bytes.join reads the arrays' buffers directly: one copy of the samples, not two
    return b"".join([_header_bytes(header, len(batch)), *_column_buffers(batch)])


def batch_leaf_hash(header: BatchHeader, batch: SampleBatch) -> bytes:
    """SHA-256(0x00 ‖ encode_batch(header, batch)), the batch's Merkle leaf hash, fed column
    by column from the arrays' buffers: the canonical bytes are never built (no copy, no
    fresh memory), and hashlib releases the GIL while it hashes each column."""
    digest = hashlib.sha256(_LEAF_PREFIX + _header_bytes(header, len(batch)))
    for column in _column_buffers(batch):
        digest.update(column)
    return digest.digest()


def signed_message(digest: bytes) -> bytes:
    """The 40 bytes a batch signature covers: the version-2 preamble and the batch's leaf
    hash, SHA-256(0x00 ‖ canonical bytes)."""
    if len(digest) != _DIGEST_SIZE:
        raise CanonicalFormError(f"a batch digest is {_DIGEST_SIZE} bytes, not {len(digest)}")
    return _SIGNED_PREAMBLE + digest


def _read_name(data: bytes, offset: int, what: str) -> tuple[str, int]:
    if offset + 2 > len(data):
        raise CanonicalFormError(f"canonical batch ends inside the {what} length at {offset}")
    (length,) = _LENGTH.unpack_from(data, offset)
    start, end = offset + 2, offset + 2 + length
    if end > len(data):
        raise CanonicalFormError(f"canonical batch ends inside the {what} at {start}")
    try:
        return data[start:end].decode("utf-8"), end
    except UnicodeDecodeError:
        raise CanonicalFormError(f"canonical batch {what} at {start} is not UTF-8") from None


def decode_batch(data: bytes) -> tuple[BatchHeader, SampleBatch]:
    """Read canonical version-1 bytes back (strictly: exact length, known version, no flags,
    only the canonical NaN), so that encoding the result gives the same bytes."""
    if len(data) < _PREAMBLE.size:
        raise CanonicalFormError(f"canonical batch is {len(data)} bytes; the preamble is 8")
    magic, version, flags = _PREAMBLE.unpack_from(data, 0)
    if magic != MAGIC:
        raise CanonicalFormError(f"canonical batch starts with {magic!r}, not {MAGIC!r}")
    if version != VERSION or flags != 0:
        raise CanonicalFormError(
            f"canonical batch version {version} flags {flags:#x}: only version {VERSION} "
            "without flags is known"
        )
    gateway_id, offset = _read_name(data, _PREAMBLE.size, "gateway id")
    source, offset = _read_name(data, offset, "source")
    if offset + _COUNTS.size > len(data):
        raise CanonicalFormError(f"canonical batch ends inside seq/count at {offset}")
    seq, count = _COUNTS.unpack_from(data, offset)
    offset += _COUNTS.size
    expected = offset + count * _BYTES_PER_SAMPLE
    if len(data) != expected:
        raise CanonicalFormError(
            f"canonical batch of {count} samples must be {expected} bytes, not {len(data)}"
        )
    columns = []
    for _name, wire, native in _COLUMNS:
        width = np.dtype(wire).itemsize * count
        columns.append(np.frombuffer(data, dtype=wire, count=count, offset=offset).astype(native))
        offset += width
    bits = columns[2].view(np.uint64)
    if (np.isnan(columns[2]) & (bits != CANONICAL_NAN)).any():
        raise CanonicalFormError("canonical batch holds a NaN that is not the canonical NaN")
    header = BatchHeader(gateway_id, source, seq)
    return header, SampleBatch(*columns)
