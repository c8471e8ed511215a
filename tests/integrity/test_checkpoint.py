"""Signed tree heads as C2SP tlog checkpoints: a log's checkpoint is signed by the gateway key,
opened only with a trusted key, and parsed strictly; the specification's example parses."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from isthmus.integrity import (
    Checkpoint,
    CheckpointError,
    GatewayIdentity,
    MerkleLog,
    NoteVerificationError,
    verify_consistency,
)
from tests.integrity.data import load_notes

GW = GatewayIdentity.generate("plant1.example/ledger")


def _log(n: int) -> MerkleLog:
    log = MerkleLog()
    log.extend([f"batch {i}".encode() for i in range(n)])
    return log


def test_a_signed_checkpoint_round_trips() -> None:
    log = _log(10)
    checkpoint = Checkpoint.create(GW.gateway_id, log.size, log.root(),
                                   timestamp_ns=1_764_130_000_123_456_789)
    note = checkpoint.sign([GW.signer])
    assert note.startswith(f"{GW.gateway_id}\n10\n{base64.b64encode(log.root()).decode()}\n"
                           "timestamp 1764130000123456789\n\n\u2014 plant1.example/ledger ")
    opened = Checkpoint.open(note, [GW.verifier], origin=GW.gateway_id)
    assert opened == checkpoint
    assert opened.timestamp_ns == 1_764_130_000_123_456_789


def test_two_checkpoints_of_one_log_are_proven_consistent() -> None:
    log = _log(7)
    old = Checkpoint.open(Checkpoint(GW.gateway_id, 7, log.root()).sign([GW.signer]),
                          [GW.verifier])
    log.extend([b"more", b"and more"])
    new = Checkpoint.open(Checkpoint(GW.gateway_id, 9, log.root()).sign([GW.signer]),
                          [GW.verifier])
    verify_consistency(old.size, new.size, old.root, new.root,
                       log.consistency_proof(old.size, new.size))


def test_a_checkpoint_of_another_log_or_key_is_refused() -> None:
    note = Checkpoint(GW.gateway_id, 1, _log(1).root()).sign([GW.signer])
    with pytest.raises(CheckpointError, match=r"not 'other\.example/log'"):
        Checkpoint.open(note, [GW.verifier], origin="other.example/log")
    with pytest.raises(NoteVerificationError):
        Checkpoint.open(note, [GatewayIdentity.generate(GW.gateway_id).verifier])


def test_the_tlog_checkpoint_spec_example_parses() -> None:
    example = load_notes()["c2sp_tlog_checkpoint_example"]
    body = example["note"].split("\n\n")[0] + "\n"
    checkpoint = Checkpoint.parse(body)
    assert (checkpoint.origin, checkpoint.size) == (example["origin"], example["size"])
    assert checkpoint.root == base64.b64decode(example["root"])
    assert checkpoint.extensions == ()
    assert checkpoint.timestamp_ns is None
    assert checkpoint.body() == body


def test_extension_lines_are_kept_in_order() -> None:
    checkpoint = Checkpoint.create("log", 0, bytes(32), timestamp_ns=5, extensions=["x y"])
    assert checkpoint.extensions == ("timestamp 5", "x y")
    assert Checkpoint.parse(checkpoint.body()) == checkpoint


def test_the_timestamp_is_read_from_whichever_extension_line_holds_it() -> None:
    plain = Checkpoint.create("log", 0, bytes(32), extensions=["x y"])
    assert plain.extensions == ("x y",)
    assert plain.timestamp_ns is None
    later = Checkpoint("log", 0, bytes(32), ("x y", "timestamp 7"))
    assert later.timestamp_ns == 7


ROOT = base64.b64encode(bytes(32)).decode()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (f"log\n1\n{ROOT}", "end with a newline"),
        ("log\n1\n", "at least 3"),
        (f"log\n01\n{ROOT}\n", "not a decimal"),
        (f"log\n-1\n{ROOT}\n", "not a decimal"),
        (f"log\n\u0661\n{ROOT}\n", "not a decimal"),
        ("log\n1\n!!!!\n", "not base64"),
        (f"log\n1\n{ROOT[:-4]}\n", "32-byte hash"),
        (f"\n1\n{ROOT}\n", "origin must be a non-empty"),
        (f"log\n1\n{ROOT}\n\n", "extension line must be a non-empty"),
    ],
)
def test_malformed_checkpoints_are_refused(body: str, message: str) -> None:
    with pytest.raises(CheckpointError, match=message):
        Checkpoint.parse(body)


def test_invalid_checkpoint_fields_are_refused() -> None:
    with pytest.raises(CheckpointError, match="whole number"):
        Checkpoint("log", -1, bytes(32))
    with pytest.raises(CheckpointError, match="32 bytes"):
        Checkpoint("log", 1, bytes(31))
    for origin in ("lo\tg", "lo\ud800g"):
        with pytest.raises(CheckpointError, match="control character"):
            Checkpoint(origin, 1, bytes(32))
    with pytest.raises(CheckpointError, match="negative"):
        Checkpoint.create("log", 1, bytes(32), timestamp_ns=-1)


@given(st.text(max_size=200))
@settings(max_examples=200, deadline=None)
def test_parsing_arbitrary_text_raises_only_checkpoint_errors(text: str) -> None:
    try:
        checkpoint = Checkpoint.parse(text)
    except CheckpointError:
        return
    assert checkpoint.body() == text
