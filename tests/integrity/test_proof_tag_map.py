"""Inclusion proofs that name the tag's path under a signature: the newest signed tag map
before the sample's leaf travels in the proof with its own audit path, and check-proof
refuses a proof whose map was altered, is not in the signed tree, or disagrees with it."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from isthmus.integrity.errors import IntegrityError
from isthmus.integrity.evidence import EvidenceError, check_inclusion_proof, inclusion_proof_for
from isthmus.integrity.identity import GatewayIdentity
from isthmus.integrity.ledger import BatchSigner, Ledger
from tests.integrity.conftest import GATEWAY, T0, S, open_ledger_historian, poll, tag


def _proof(tmp_path: Path, *, sign_map: bool = True) -> tuple[dict[str, Any], GatewayIdentity]:
    identity = GatewayIdentity.generate(GATEWAY)
    historian = open_ledger_historian(f"sqlite:///{tmp_path / 'h.db'}")
    registry = historian.register_tags([tag(f"t{i}") for i in range(3)])
    ledger = Ledger(historian, identity)
    if sign_map:
        assert ledger.sign_tag_map() == 0
    signer = BatchSigner(identity)
    for i in range(4):
        admission = ledger.admit([signer.sign("plc", poll(registry, i))])
        ledger.store(admission.accepted)
    ledger.checkpoint()
    doc = inclusion_proof_for(historian, [identity.verifier], registry.id_of(tag("t2").path),
                              tag("t2").path, T0 + 9 * S)
    historian.close()
    return json.loads(json.dumps(doc)), identity


def test_the_proof_names_the_path_under_the_signed_tag_map(tmp_path: Path) -> None:
    doc, identity = _proof(tmp_path)
    proven = check_inclusion_proof(doc, identity.verifier)
    assert proven.tag == tag("t2").path and proven.tag_map_index == 0
    assert proven.leaf_index > 0 and len(doc["tag_map"]["inclusion_proof"]) >= 1


def test_without_a_signed_map_the_path_is_not_claimed(tmp_path: Path) -> None:
    doc, identity = _proof(tmp_path, sign_map=False)
    assert "tag_map" not in doc
    proven = check_inclusion_proof(doc, identity.verifier)
    assert proven.tag is None and proven.tag_map_index is None


def _entry(doc: dict[str, Any]) -> bytes:
    return base64.b64decode(doc["tag_map"]["entry"])


@pytest.mark.parametrize("change", ["tag", "entry", "signature", "path", "index"])
def test_an_altered_tag_map_or_claim_is_refused(tmp_path: Path, change: str) -> None:
    doc, identity = _proof(tmp_path)
    evidence = doc["tag_map"]
    if change == "tag":
        doc["tag"] = tag("t0").path
    elif change == "entry":               # rename t2 in the map: the signature breaks
        entry = _entry(doc).replace(tag("t2").path.encode(), tag("t1").path.encode()[:-1] + b"9")
        evidence["entry"] = base64.b64encode(entry).decode()
    elif change == "signature":
        signature = bytearray(base64.b64decode(evidence["signature"]))
        signature[5] ^= 1
        evidence["signature"] = base64.b64encode(bytes(signature)).decode()
    elif change == "path":
        first = bytearray(base64.b64decode(evidence["inclusion_proof"][0]))
        first[0] ^= 0x80
        evidence["inclusion_proof"][0] = base64.b64encode(bytes(first)).decode()
    else:                                 # claim the map came after the sample
        evidence["leaf_index"] = doc["leaf_index"] + 1
    with pytest.raises(IntegrityError):
        check_inclusion_proof(doc, identity.verifier)


def test_a_map_that_does_not_name_the_tag_is_refused(tmp_path: Path) -> None:
    """t3 is registered after the map was signed: its proof carries no map, and the map of
    another proof of the same tree, pasted in, does not name it."""
    identity = GatewayIdentity.generate(GATEWAY)
    historian = open_ledger_historian(f"sqlite:///{tmp_path / 'h.db'}")
    historian.register_tags([tag(f"t{i}") for i in range(3)])
    ledger = Ledger(historian, identity)
    ledger.sign_tag_map()
    registry = historian.register_tags([tag("t3")])
    signer = BatchSigner(identity)
    for i in range(3):
        ledger.store(ledger.admit([signer.sign("plc", poll(registry, i, tags=4))]).accepted)
    ledger.checkpoint()
    proofs = {name: json.loads(json.dumps(inclusion_proof_for(
        historian, [identity.verifier], registry.id_of(tag(name).path), tag(name).path,
        T0 + 9 * S))) for name in ("t2", "t3")}
    historian.close()
    assert "tag_map" in proofs["t2"] and "tag_map" not in proofs["t3"]
    assert check_inclusion_proof(proofs["t3"], identity.verifier).tag is None
    proofs["t3"]["tag_map"] = proofs["t2"]["tag_map"]
    with pytest.raises(EvidenceError, match="does not name tag id"):
        check_inclusion_proof(proofs["t3"], identity.verifier)
