"""Golden cases (src/isthmus/connectors/opcua/testcases/<case>/): a server identity —
BuildInfo and the certificates its endpoints present, as PEM files — and the fingerprint
expected of it. The expected thumbprints, subjects and dates were taken with the openssl
command line, not with the code under test."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from isthmus.connectors.opcua import ServerIdentity, fingerprint_of

TESTCASES = Path(__file__).parents[3] / "src/isthmus/connectors/opcua/testcases"
CASES = sorted(p.name for p in TESTCASES.iterdir() if p.is_dir())


def der_of(pem: Path) -> bytes:
    return x509.load_pem_x509_certificate(pem.read_bytes()).public_bytes(Encoding.DER)


def test_the_cases_are_found() -> None:
    assert len(CASES) >= 3


@pytest.mark.parametrize("case", CASES)
def test_fingerprint_matches_golden(case: str) -> None:
    folder = TESTCASES / case
    given = json.loads((folder / "identity.json").read_text())
    identity = ServerIdentity(given["build_info"], tuple(
        der_of(folder / name) for name in given["endpoint_certificates"]))
    expected = json.loads((folder / "expected-fingerprint.json").read_text())
    assert fingerprint_of(identity).as_data() == expected
