"""Signed policy entries: log leaves that record what the platform itself did to the history
(retention deleted everything before a cutoff) or how it names it (the tag path ↔ id map),
so that `ledger verify` can tell policy from tampering and detect a renamed tag.

Canonical encoding, version 1 (all integers little-endian):

    magic "ISTP" | version u16 = 1 | flags u16 = 0 | g u16 + gateway id (UTF-8)
    | k u16 + kind (UTF-8) | seq u64 | applied_ns i64 | b u32 + body

The body is JSON with sorted keys, no spaces, ASCII only, so that it has one spelling. Like a
batch encoding, it starts with four letters and the byte 0x01, which a signed note can never
contain, so the one key can sign batches, notes and policy entries without confusion.
In the historian a policy entry is a leaf row whose source is "@" + kind, with no samples;
its `manifest` column holds these bytes.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from typing import Any

from isthmus.integrity.errors import CanonicalFormError

__all__ = ["POLICY_KINDS", "PolicyEntry", "decode_entry", "encode_entry", "source_of"]

MAGIC = b"ISTP"
VERSION = 1
POLICY_KINDS = frozenset({"retention", "tags"})
_PREAMBLE = struct.Struct("<4sHH")
_LENGTH = struct.Struct("<H")
_TAIL = struct.Struct("<Qq")
_BODY = struct.Struct("<I")


def source_of(kind: str) -> str:
    """The leaf-row source that marks a policy entry of `kind`."""
    return "@" + kind


@dataclass(frozen=True, slots=True)
class PolicyEntry:
    """What the gateway `gateway_id` did (`kind`), its `seq`-th entry of that kind, when."""

    gateway_id: str
    kind: str
    seq: int
    applied_ns: int
    body: dict[str, Any]

    def __post_init__(self) -> None:
        if self.kind not in POLICY_KINDS:
            raise CanonicalFormError(f"policy entry kind {self.kind!r} is not one of "
                                     f"{sorted(POLICY_KINDS)}")


def _body_bytes(body: dict[str, Any]) -> bytes:
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True,
                      allow_nan=False).encode("ascii")


def _name(value: str, what: str) -> bytes:
    raw = value.encode("utf-8")
    if not raw or len(raw) > 0xFFFF or any(b < 0x20 or b == 0x7F for b in raw):
        raise CanonicalFormError(f"policy entry {what} {value!r} must be 1–65535 bytes without "
                                 "control characters")
    return raw


def encode_entry(entry: PolicyEntry) -> bytes:
    gateway, kind, body = _name(entry.gateway_id, "gateway id"), _name(entry.kind, "kind"), \
        _body_bytes(entry.body)
    return b"".join([_PREAMBLE.pack(MAGIC, VERSION, 0), _LENGTH.pack(len(gateway)), gateway,
                     _LENGTH.pack(len(kind)), kind, _TAIL.pack(entry.seq, entry.applied_ns),
                     _BODY.pack(len(body)), body])


def _read(data: bytes, pos: int, size: int, what: str) -> tuple[bytes, int]:
    if pos + size > len(data):
        raise CanonicalFormError(f"policy entry ends inside its {what} (byte {pos})")
    return data[pos:pos + size], pos + size


def decode_entry(data: bytes) -> PolicyEntry:
    """Strict: anything but the one canonical spelling is refused (CanonicalFormError)."""
    head, pos = _read(data, 0, _PREAMBLE.size, "preamble")
    magic, version, flags = _PREAMBLE.unpack(head)
    if (magic, version, flags) != (MAGIC, VERSION, 0):
        raise CanonicalFormError(f"not a version-1 policy entry (magic {magic!r}, version "
                                 f"{version}, flags {flags})")
    names = []
    for what in ("gateway id", "kind"):
        raw, pos = _read(data, pos, _LENGTH.size, what)
        text, pos = _read(data, pos, _LENGTH.unpack(raw)[0], what)
        try:
            names.append(text.decode("utf-8", errors="strict"))
        except UnicodeDecodeError as exc:
            raise CanonicalFormError(f"policy entry {what} is not UTF-8: {exc}") from exc
    raw, pos = _read(data, pos, _TAIL.size, "sequence number")
    seq, applied_ns = _TAIL.unpack(raw)
    raw, pos = _read(data, pos, _BODY.size, "body length")
    text, pos = _read(data, pos, _BODY.unpack(raw)[0], "body")
    if pos != len(data):
        raise CanonicalFormError(f"policy entry has {len(data) - pos} bytes after its body")
    try:
        body = json.loads(text)
    except ValueError as exc:
        raise CanonicalFormError(f"policy entry body is not JSON: {exc}") from exc
    if not isinstance(body, dict) or _body_bytes(body) != text:
        raise CanonicalFormError("policy entry body is not a canonical JSON object")
    return PolicyEntry(names[0], names[1], seq, applied_ns, body)
