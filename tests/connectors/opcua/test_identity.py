"""The OPC UA server fingerprint: BuildInfo and certificate fields, independent of the
order and repetition of endpoints, and the ATT&CK techniques a change suggests."""

from __future__ import annotations

import hashlib
import json
import random

from hypothesis import given
from hypothesis import strategies as st

from isthmus.connectors.fingerprint import DeviceFingerprint
from isthmus.connectors.opcua import ServerIdentity, fingerprint_of
from isthmus.connectors.opcua.identity import BUILD_INFO_FIELDS, techniques_of
from tests.connectors.opcua.opcua_test_server import self_signed

BUILD = {"product_uri": "urn:acme:plc", "manufacturer_name": "Acme", "product_name": "P9",
         "software_version": "1.0", "build_number": "7", "build_date": "2025-01-02T00:00:00"}
CERTS = [self_signed("a"), self_signed("b"), self_signed("c")]


def test_no_certificate_means_build_info_only() -> None:
    assert dict(fingerprint_of(ServerIdentity(BUILD)).objects) == BUILD


def test_a_missing_build_info_member_is_empty_not_absent() -> None:
    objects = fingerprint_of(ServerIdentity({"product_uri": "urn:x"})).objects
    assert sorted(objects) == sorted(BUILD_INFO_FIELDS)
    assert objects["build_number"] == ""


@given(st.lists(st.sampled_from(CERTS), min_size=1, max_size=8), st.randoms())
def test_endpoint_order_and_repetition_do_not_change_the_fingerprint(
        certificates: list[bytes], rng: random.Random) -> None:
    shuffled = list(certificates)
    rng.shuffle(shuffled)
    one = fingerprint_of(ServerIdentity(BUILD, tuple(certificates)))
    two = fingerprint_of(ServerIdentity(BUILD, tuple(shuffled + shuffled)))
    assert one.digest == two.digest
    distinct = {hashlib.sha256(c).hexdigest() for c in certificates}
    assert {v for k, v in one.objects.items() if k.endswith("_sha256")} == distinct


@given(st.sampled_from(BUILD_INFO_FIELDS), st.text(max_size=20))
def test_any_build_info_change_changes_the_fingerprint(name: str, value: str) -> None:
    before = fingerprint_of(ServerIdentity(BUILD, (CERTS[0],)))
    after = fingerprint_of(ServerIdentity({**BUILD, name: value}, (CERTS[0],)))
    assert (before.digest == after.digest) == (BUILD[name] == value)


def test_an_unparseable_certificate_keeps_its_thumbprint() -> None:
    objects = fingerprint_of(ServerIdentity(BUILD, (b"not a certificate",))).objects
    assert objects["certificate_sha256"] == hashlib.sha256(b"not a certificate").hexdigest()
    assert objects["certificate_subject"].startswith("(unparseable")


def test_techniques_suggested_by_what_changed() -> None:
    assert techniques_of({"software_version": ["1", "2"]}) == ("T0839",)
    assert techniques_of({"certificate_sha256": ["a", "b"]}) == ("T0830",)
    assert techniques_of({"build_date": ["a", "b"], "certificate_2_sha256": [None, "c"]}) == (
        "T0839", "T0830")
    assert techniques_of({"manufacturer_name": ["a", "b"]}) == ()


def test_the_digest_is_the_documented_canonical_json() -> None:
    """One fingerprint for every protocol: SHA-256 of {"checksum": …, "objects": {…}}."""
    fingerprint = fingerprint_of(ServerIdentity(BUILD))
    canonical = json.dumps({"checksum": None, "objects": BUILD}, sort_keys=True,
                           separators=(",", ":"))
    assert fingerprint == DeviceFingerprint(BUILD)
    assert fingerprint.digest == hashlib.sha256(canonical.encode()).hexdigest()
