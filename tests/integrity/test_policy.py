"""Signed policy entries: one canonical spelling, strict decoding, and the Ledger appends
them as leaves that continue their own sequence."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from isthmus.integrity.errors import CanonicalFormError
from isthmus.integrity.ledger import Ledger
from isthmus.integrity.policy import PolicyEntry, decode_entry, encode_entry
from tests.integrity.conftest import T0, Filled

bodies = st.dictionaries(st.text(min_size=1, max_size=8),
                         st.one_of(st.integers(-(2**63), 2**63 - 1), st.text(max_size=20),
                                   st.booleans(), st.none()), max_size=5)


@given(st.sampled_from(["retention", "tags"]), st.integers(0, 2**64 - 1),
       st.integers(-(2**63), 2**63 - 1), bodies)
def test_entries_round_trip(kind: str, seq: int, applied: int, body: dict[str, object]) -> None:
    entry = PolicyEntry("plant.example/gw-1", kind, seq, applied, body)
    data = encode_entry(entry)
    assert data[:5] == b"ISTP\x01"
    assert decode_entry(data) == entry


def test_every_truncation_is_refused() -> None:
    data = encode_entry(PolicyEntry("gw", "retention", 3, T0, {"cutoff_ns": T0}))
    for end in range(len(data)):
        with pytest.raises(CanonicalFormError):
            decode_entry(data[:end])


def test_trailing_bytes_and_non_canonical_bodies_are_refused() -> None:
    data = encode_entry(PolicyEntry("gw", "retention", 3, T0, {"a": 1, "b": 2}))
    with pytest.raises(CanonicalFormError, match="after its body"):
        decode_entry(data + b" ")
    spaced = data.replace(b'{"a":1,"b":2}', b'{"b":2,"a":1}')
    with pytest.raises(CanonicalFormError, match="canonical JSON"):
        decode_entry(spaced)
    with pytest.raises(CanonicalFormError, match="version-1"):
        decode_entry(b"ISTB" + data[4:])


def test_unknown_kind_is_refused() -> None:
    with pytest.raises(CanonicalFormError, match="kind"):
        PolicyEntry("gw", "rollup-magic", 0, T0, {})


def test_policy_entries_continue_their_sequence_after_a_reopen(filled: Filled) -> None:
    first = filled.ledger.record_retention(T0, policy="p")
    again = Ledger(filled.ledger.historian, filled.identity)
    second = again.record_retention(T0 + 1, policy="p")
    assert (first, second) == (6, 7)
    rows = filled.ledger.historian.ledger_leaves(6, 8)
    assert [(r.source, r.seq, r.n) for r in rows] == [("@retention", 0, 0), ("@retention", 1, 0)]
    assert again.sign_tag_map() == 8 and again.sign_tag_map() is None
    assert Ledger(filled.ledger.historian, filled.identity).sign_tag_map() is None
