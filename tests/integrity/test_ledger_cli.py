"""`isthmus ledger …` on the command line: verify, prove, check-proof, consistency,
checkpoint; and end to end, the demo's data verifies until someone edits the file."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from isthmus.cli import main
from isthmus.historian.codec import decode_block, encode_blocks, sort_by_tag_and_time
from isthmus.integrity.identity import GatewayIdentity
from isthmus.model import SampleBatch
from tests.integrity.conftest import GATEWAY, T0, S, fill, tag


def data_dir(tmp_path: Path) -> tuple[Path, str]:
    """A data directory with a filled historian and the gateway identity, as `demo` leaves."""
    data = tmp_path / "data"
    identity = GatewayIdentity.load_or_create(data / "identity", GATEWAY)
    filled = fill(f"sqlite:///{data / 'historian.db'}", identity=identity)
    filled.ledger.historian.close()
    return data, identity.verifier_key()


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def test_verify_passes_then_names_an_edit(tmp_path: Path) -> None:
    data, vkey = data_dir(tmp_path)
    code, out = run("ledger", "verify", "--data", str(data), "--pubkey", vkey)
    assert code == 0, out
    assert "6 leaves, 72 samples, 0 signed policy entries; 2/2 signed checkpoints valid" in out
    with sqlite3.connect(data / "historian.db") as db:
        db.execute("DELETE FROM blocks WHERE leaf = 2 AND tag_id = 1")
    code, out = run("ledger", "verify", "--data", str(data))
    assert code == 1
    assert f"DELETED    leaf 2 tag {tag('t0').path}" in out and "FAILED" in out


def test_verify_with_another_key_fails(tmp_path: Path) -> None:
    data, _ = data_dir(tmp_path)
    other = GatewayIdentity.generate(GATEWAY).verifier_key()
    code, out = run("ledger", "verify", "--data", str(data), "--pubkey", other)
    assert code == 1 and "LEAF" in out and "CHECKPOINT" in out


def test_prove_then_check_offline(tmp_path: Path) -> None:
    data, vkey = data_dir(tmp_path)
    proof, keyfile = tmp_path / "proof.json", tmp_path / "gw.vkey"
    keyfile.write_text(vkey + "\n")
    at = "2025-06-15T15:06:49Z"  # T0 + 9 s
    assert T0 + 9 * S == 1_750_000_009 * S
    code, out = run("ledger", "prove", tag("t2").path, "--at", at, "--data", str(data),
                    "-o", str(proof))
    assert code == 0, out
    assert json.loads(proof.read_text())["leaf_index"] == 2
    code, out = run("ledger", "check-proof", str(proof), "--pubkey", str(keyfile))
    assert code == 0 and out.startswith("VALID") and "leaf 2 of the signed tree of 6" in out
    doc = json.loads(proof.read_text())
    doc["sample"]["value"] = (1.5).hex()
    proof.write_text(json.dumps(doc))
    code, out = run("ledger", "check-proof", str(proof), "--pubkey", vkey)
    assert code == 1 and out.startswith("INVALID")


def test_consistency_and_checkpoint(tmp_path: Path) -> None:
    data, vkey = data_dir(tmp_path)
    code, out = run("ledger", "consistency", "3", "6", "--data", str(data), "--pubkey", vkey)
    assert code == 0, out
    assert json.loads(out[:out.rindex("}") + 1])["new_size"] == 6
    witness = tmp_path / "witness.note"
    code, out = run("ledger", "checkpoint", "--data", str(data), "--out", str(witness))
    assert code == 0 and witness.read_text().startswith(f"{GATEWAY}\n6\n")
    code, out = run("ledger", "consistency", "3", str(witness), "--data", str(data))
    assert code == 0, out
    with sqlite3.connect(data / "historian.db") as db:
        db.execute("UPDATE ledger_leaves SET leaf_hash = zeroblob(32) WHERE idx = 4")
    code, out = run("ledger", "consistency", "3", "6", "--data", str(data))
    assert code == 1 and "NOT CONSISTENT" in out
    code, out = run("ledger", "checkpoint", "--data", str(data))
    assert code == 1 and "does not extend" in out


def test_checkpoint_is_published_to_witnesses(tmp_path: Path) -> None:
    data, _ = data_dir(tmp_path)
    first, second = tmp_path / "w1" / "note", tmp_path / "w2.note"
    code, out = run("ledger", "checkpoint", "--data", str(data), "--witness", f"file:{first}",
                    "--witness", f"file://{second}")
    assert code == 0, out
    assert first.read_text() == second.read_text() and first.read_text().startswith(
        f"{GATEWAY}\n6\n")
    assert f"published to file:{first}" in out


def test_bad_witness_url_is_refused_before_signing(tmp_path: Path) -> None:
    data, _ = data_dir(tmp_path)
    code, out = run("ledger", "checkpoint", "--data", str(data), "--witness", "mqtt://h")
    assert code == 1 and "needs a topic" in out
    with sqlite3.connect(data / "historian.db") as db:
        assert db.execute("SELECT count(*) FROM ledger_checkpoints").fetchone() == (2,)


@pytest.mark.slow
def test_demo_data_verifies_until_hand_edited(tmp_path: Path) -> None:
    isthmus = [sys.executable, "-m", "isthmus"]
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    data = tmp_path / "d"
    subprocess.run([*isthmus, "demo", "--duration", "5", "--data", str(data),
                    "--hosts", "127.0.44."], check=True,
                   capture_output=True, env=env, timeout=120)
    ok = subprocess.run([*isthmus, "ledger", "verify", "--data", str(data)],
                        capture_output=True, text=True, env=env, timeout=120)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    with sqlite3.connect(data / "historian.db") as db:
        bid, tag_id, lo, n, payload, leaf, path = db.execute(
            "SELECT b.id, b.tag_id, b.min_ts, b.n, b.payload, b.leaf, t.path FROM blocks b "
            "JOIN tags t ON t.id = b.tag_id WHERE b.leaf IS NOT NULL ORDER BY b.id LIMIT 1"
        ).fetchone()
        samples = decode_block(tag_id, lo, n, payload)
        edited = SampleBatch(samples.tag_id, samples.ts, samples.value + 1.0, samples.quality,
                             samples.ts_gateway)
        (forged,) = encode_blocks(sort_by_tag_and_time(edited))
        db.execute("UPDATE blocks SET payload = ? WHERE id = ?", (forged.payload, bid))
    bad = subprocess.run([*isthmus, "ledger", "verify", "--data", str(data)],
                         capture_output=True, text=True, env=env, timeout=120)
    assert bad.returncode == 1
    assert f"ALTERED    leaf {leaf} tag {path}" in bad.stdout
