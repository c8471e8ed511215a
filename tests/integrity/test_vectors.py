"""The published transparency-dev/merkle probes (RFC 6962/9162): every happy path verifies,
every deliberately broken proof is rejected, and our log regenerates the happy-path proofs
byte for byte from the RFC 6962 test tree."""

from __future__ import annotations

from typing import Any

import pytest

from isthmus.integrity import MerkleLog, ProofError, verify_consistency, verify_inclusion
from tests.integrity.data import RFC6962_LEAVES, b64, load_probes

INCLUSION = load_probes("inclusion")
CONSISTENCY = load_probes("consistency")


def _proof(probe: dict[str, Any]) -> list[bytes]:
    return [b64(p) for p in probe["proof"] or []]


def test_every_published_probe_file_is_present() -> None:
    assert (len(INCLUSION), len(CONSISTENCY)) == (82, 84)
    failing = sum(p["wantErr"] for _, p in INCLUSION + CONSISTENCY)
    assert failing == 156


@pytest.mark.parametrize(("name", "probe"), INCLUSION, ids=[n for n, _ in INCLUSION])
def test_inclusion_probe_is_accepted_or_rejected_as_published(
    name: str, probe: dict[str, Any]
) -> None:
    def verify() -> None:
        verify_inclusion(
            b64(probe["leafHash"]), probe["leafIndex"], probe["treeSize"], _proof(probe),
            b64(probe["root"]),
        )

    if probe["wantErr"]:
        with pytest.raises(ProofError):
            verify()
    else:
        verify()


@pytest.mark.parametrize(("name", "probe"), CONSISTENCY, ids=[n for n, _ in CONSISTENCY])
def test_consistency_probe_is_accepted_or_rejected_as_published(
    name: str, probe: dict[str, Any]
) -> None:
    def verify() -> None:
        verify_consistency(
            probe["size1"], probe["size2"], b64(probe["root1"]), b64(probe["root2"]),
            _proof(probe),
        )

    if probe["wantErr"]:
        with pytest.raises(ProofError):
            verify()
    else:
        verify()


@pytest.fixture(scope="module")
def rfc6962_log() -> MerkleLog:
    log = MerkleLog()
    log.extend(RFC6962_LEAVES)
    return log


def test_log_regenerates_every_published_inclusion_happy_path(rfc6962_log: MerkleLog) -> None:
    happy = [p for _, p in INCLUSION if not p["wantErr"]]
    assert len(happy) == 5
    for probe in happy:
        index, size = probe["leafIndex"], probe["treeSize"]
        assert rfc6962_log.root(size) == b64(probe["root"])
        assert rfc6962_log.leaf_hash(index) == b64(probe["leafHash"])
        assert rfc6962_log.inclusion_proof(index, size) == _proof(probe)


def test_log_regenerates_every_published_consistency_happy_path(rfc6962_log: MerkleLog) -> None:
    happy = [p for _, p in CONSISTENCY if not p["wantErr"]]
    assert len(happy) == 5
    for probe in happy:
        old, new = probe["size1"], probe["size2"]
        assert rfc6962_log.root(old) == b64(probe["root1"])
        assert rfc6962_log.root(new) == b64(probe["root2"])
        assert rfc6962_log.consistency_proof(old, new) == _proof(probe)
