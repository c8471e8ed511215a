"""The canonical batch encoding: a documented fixed layout, NaN written one way, strict
decoding, and a lossless round trip."""

from __future__ import annotations

import hashlib
import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from isthmus.integrity import BatchHeader, CanonicalFormError, decode_batch, encode_batch
from isthmus.integrity.canonical import CANONICAL_NAN, batch_leaf_hash, signed_message
from isthmus.integrity.envelope import SignedBatch
from isthmus.model import SampleBatch


def _batch() -> SampleBatch:
    return SampleBatch.of([7, 9], [1_000, 2_000], [1.5, -2.0], [0, 0x80000000], [1_001, 2_002])


def test_encoding_follows_the_documented_version_1_layout() -> None:
    expected = (
        b"ISTB" + struct.pack("<HH", 1, 0)
        + struct.pack("<H", 4) + b"gw-1"
        + struct.pack("<H", 3) + b"plc"
        + struct.pack("<QQ", 42, 2)
        + struct.pack("<2i", 7, 9)
        + struct.pack("<2q", 1_000, 2_000)
        + struct.pack("<2d", 1.5, -2.0)
        + struct.pack("<2I", 0, 0x80000000)
        + struct.pack("<2q", 1_001, 2_002)
    )
    assert encode_batch(BatchHeader("gw-1", "plc", 42), _batch()) == expected


def test_every_nan_is_written_as_the_one_canonical_nan() -> None:
    payloads = [0x7FF8000000000000, 0xFFF8000000000001, 0x7FF0000000000001, 0x7FFFFFFFFFFFFFFF]
    values = np.array(payloads, dtype=np.uint64).view(np.float64)
    assert np.isnan(values).all()
    batch = SampleBatch.of([1] * 4, [1] * 4, values)
    encoded = encode_batch(BatchHeader("gw", "s", 0), batch)
    column = np.frombuffer(encoded[-(8 + 4 + 8) * 4 : -(4 + 8) * 4], dtype="<u8")
    assert column.tolist() == [CANONICAL_NAN] * 4
    assert batch.value.view(np.uint64).tolist() == payloads  # the batch itself is untouched


def test_a_non_canonical_nan_is_refused_when_decoding() -> None:
    encoded = bytearray(encode_batch(BatchHeader("gw", "s", 0), SampleBatch.of([1], [1], [0.0])))
    offset = len(encoded) - (8 + 4 + 8)
    encoded[offset : offset + 8] = struct.pack("<Q", 0x7FF8000000000001)
    with pytest.raises(CanonicalFormError, match="not the canonical NaN"):
        decode_batch(bytes(encoded))


def test_negative_zero_and_infinities_keep_their_bits() -> None:
    batch = SampleBatch.of([1, 1, 1], [1, 2, 3], [-0.0, np.inf, -np.inf])
    _, decoded = decode_batch(encode_batch(BatchHeader("gw", "s", 0), batch))
    assert decoded.value.view(np.uint64).tolist() == batch.value.view(np.uint64).tolist()


samples = st.integers(min_value=0, max_value=50).flatmap(
    lambda n: st.tuples(
        st.lists(st.integers(-(2**31), 2**31 - 1), min_size=n, max_size=n),
        st.lists(st.integers(-(2**63), 2**63 - 1), min_size=n, max_size=n),
        st.lists(st.floats(allow_nan=False), min_size=n, max_size=n),
        st.lists(st.integers(0, 2**32 - 1), min_size=n, max_size=n),
        st.lists(st.integers(-(2**63), 2**63 - 1), min_size=n, max_size=n),
    )
)
names = st.text(
    alphabet=st.characters(
        min_codepoint=0x20, exclude_characters="\x7f", exclude_categories=["Cs"]
    ),
    min_size=1, max_size=30,
)


@given(columns=samples, gateway=names, source=names, seq=st.integers(0, 2**64 - 1))
@settings(max_examples=80, deadline=None)
def test_decode_inverts_encode(
    columns: tuple[list[int], list[int], list[float], list[int], list[int]],
    gateway: str, source: str, seq: int,
) -> None:
    header = BatchHeader(gateway, source, seq)
    batch = SampleBatch.of(*columns)
    data = encode_batch(header, batch)
    decoded_header, decoded = decode_batch(data)
    assert decoded_header == header
    for name in ("tag_id", "ts", "quality", "ts_gateway"):
        assert np.array_equal(getattr(decoded, name), getattr(batch, name))
        assert getattr(decoded, name).dtype == getattr(batch, name).dtype
    assert decoded.value.view(np.uint64).tolist() == batch.value.view(np.uint64).tolist()
    assert encode_batch(decoded_header, decoded) == data


def _encoded() -> bytes:
    return encode_batch(BatchHeader("gw", "src", 1), _batch())


@pytest.mark.parametrize(
    ("mangle", "message"),
    [
        (lambda b: b[:5], "preamble"),
        (lambda b: b"ISTX" + b[4:], "starts with"),
        (lambda b: b[:4] + struct.pack("<H", 2) + b[6:], "version 2"),
        (lambda b: b[:6] + struct.pack("<H", 1) + b[8:], "flags 0x1"),
        (lambda b: b[:9], "gateway id length"),
        (lambda b: b[:8] + struct.pack("<H", 999) + b[10:], "inside the gateway id"),
        (lambda b: b[:10] + b"\xff\xfe" + b[12:], "not UTF-8"),
        (lambda b: b[:20], "seq/count"),
        (lambda b: b + b"\x00", "must be"),
        (lambda b: b[:-1], "must be"),
        (lambda b: b[:8] + struct.pack("<H", 0) + b[12:], "non-empty"),
    ],
)
def test_malformed_bytes_are_refused_with_the_reason(mangle: object, message: str) -> None:
    with pytest.raises(CanonicalFormError, match=message):
        decode_batch(mangle(_encoded()))  # type: ignore[operator]


@pytest.mark.parametrize(
    ("gateway", "source", "seq", "message"),
    [
        ("", "s", 0, "gateway_id must be a non-empty"),
        ("gw", "a\nb", 0, "control character"),
        ("gw", "s", -1, "outside"),
        ("gw", "s", 2**64, "outside"),
        ("gw", "s", True, "must be an integer"),
        ("gw", "x" * 70_000, 0, "at most 65535"),
        ("gw", "\ud800", 0, "not valid Unicode"),
    ],
)
def test_headers_that_cannot_be_encoded_are_refused(
    gateway: str, source: str, seq: int, message: str
) -> None:
    with pytest.raises(CanonicalFormError, match=message):
        BatchHeader(gateway, source, seq)


@given(st.binary(max_size=120))
@settings(max_examples=200, deadline=None)
def test_decoding_arbitrary_bytes_raises_only_canonical_form_errors(data: bytes) -> None:
    message = b"ISTB\x01\x00\x00\x00" + data
    try:
        header, batch = decode_batch(message)
    except CanonicalFormError:
        return
    assert encode_batch(header, batch) == message


def test_a_signed_message_never_decodes_as_a_batch() -> None:
    message = signed_message(b"\x11" * 32)
    assert message[:4] == b"ISTB" and message[4] == 2  # a note can never hold byte 0x02
    with pytest.raises(CanonicalFormError, match="version 2"):
        decode_batch(message)


def _wire_variants(batch: SampleBatch) -> list[SampleBatch]:
    """The same samples in other memory layouts: big-endian columns, strided views."""
    wide = SampleBatch(np.repeat(batch.tag_id, 2)[::2], np.repeat(batch.ts, 2)[::2],
                       np.repeat(batch.value, 2)[::2], np.repeat(batch.quality, 2)[::2],
                       np.repeat(batch.ts_gateway, 2)[::2])
    swapped = SampleBatch(batch.tag_id.astype(">i4"), batch.ts.astype(">i8"),
                          batch.value.astype(">f8"), batch.quality.astype(">u4"),
                          batch.ts_gateway.astype(">i8"))
    return [batch, wide, swapped]


@given(columns=samples, nan_at=st.lists(st.integers(0, 49), max_size=5), gateway=names,
       seq=st.integers(0, 2**64 - 1))
@settings(max_examples=80, deadline=None)
def test_the_streamed_leaf_hash_is_the_hash_of_the_canonical_bytes(
    columns: tuple[list[int], list[int], list[float], list[int], list[int]],
    nan_at: list[int], gateway: str, seq: int,
) -> None:
    batch = SampleBatch.of(*columns)
    nan_bits = np.array([0xFFF8000000000001, 0x7FF0000000000001], np.uint64).view(np.float64)
    for k, i in enumerate(i for i in nan_at if i < len(batch)):
        batch.value[i] = nan_bits[k % 2]  # NaNs the encoding must write canonically
    header = BatchHeader(gateway, "src", seq)
    expected = hashlib.sha256(b"\x00" + encode_batch(header, batch)).digest()
    for variant in _wire_variants(batch):
        assert encode_batch(header, variant) == encode_batch(header, batch)
        assert batch_leaf_hash(header, variant) == expected


def test_the_leaf_hash_of_a_signed_batch_does_not_depend_on_what_was_asked_first() -> None:
    header, batch = BatchHeader("gw", "src", 3), _batch()
    fresh, payload_first = SignedBatch(header, batch, None), SignedBatch(header, batch, None)
    assert payload_first.payload == encode_batch(header, batch)
    assert fresh.leaf_hash() == payload_first.leaf_hash() == batch_leaf_hash(header, batch)
