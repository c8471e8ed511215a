"""Ledger benchmark: N samples in batches of 1,000 through the ledger path (gateway signature,
receiver verification and sequence check, Merkle append, leaves + blocks + rollups in the
historian, checkpoints) and a full `verify_ledger`, against the plain historian `write` of
the same batches and bare SHA-256 over the same canonical bytes, all in the same run (SQLite).

    .venv/bin/python bench/ledger.py [--samples 500000] [--per-write 10]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from isthmus.historian import LedgerHistorian, open_historian
from isthmus.integrity.envelope import SignedBatch
from isthmus.integrity.evidence import consistency_evidence, inclusion_proof_for, stored_log
from isthmus.integrity.identity import GatewayIdentity
from isthmus.integrity.ledger import BatchSigner, Ledger, SignedSampleBatch
from isthmus.integrity.verify import verify_ledger
from isthmus.model import SampleBatch, Tag

S = 1_000_000_000
T0 = 1_750_000_000 * S
TAGS = 100
STEPS = 10  # 100 tags x 10 timestamps = 1,000 samples per batch


def make_batches(count: int) -> list[SampleBatch]:
    rng = np.random.default_rng(11)
    out = []
    for k in range(count):
        ts = T0 + np.repeat(np.arange(k * STEPS, (k + 1) * STEPS, dtype=np.int64), TAGS) * S
        out.append(SampleBatch.of(np.tile(np.arange(1, TAGS + 1), STEPS), ts,
                                  rng.normal(size=TAGS * STEPS).round(3), None, ts + 2_000_000))
    return out


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def open_store(folder: Path, name: str) -> LedgerHistorian:
    historian = open_historian(f"sqlite:///{folder / name}")
    assert isinstance(historian, LedgerHistorian)
    historian.register_tags([Tag(f"acme/plant/area/line/cell/asset/t{i}") for i in range(TAGS)])
    return historian


def chunks(items: list[SignedSampleBatch], size: int) -> list[list[SignedSampleBatch]]:
    return [items[i:i + size] for i in range(0, len(items), size)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--samples", type=int, default=500_000)
    parser.add_argument("--per-write", type=int, default=10,
                        help="leaves per historian transaction (the sink coalesces)")
    args = parser.parse_args()
    count = args.samples // (TAGS * STEPS)
    batches = make_batches(count)
    n = count * TAGS * STEPS
    identity = GatewayIdentity.generate("bench-gw")
    print(f"{count:,} batches of {TAGS * STEPS:,} samples = {n:,} samples; "
          f"{args.per_write} leaves per transaction; SQLite, synchronous=FULL\n")

    signer = BatchSigner(identity)
    signed: list[SignedSampleBatch] = []
    t_sign = timed(lambda: signed.extend(signer.sign("plc", b) for b in batches))
    payloads = [s.envelope().payload for s in signed]
    t_sha = timed(lambda: [hashlib.sha256(b"\x00" + p).digest() for p in payloads])

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        plain = open_store(folder, "plain.db")
        t_plain = timed(lambda: [plain.write(SampleBatch.concat(group))
                                 for group in chunks(signed, args.per_write)])
        plain.close()
        single = open_store(folder, "single.db")
        t_single = timed(lambda: [single.write(b) for b in signed])
        single.close()

        historian = open_store(folder, "ledger.db")
        ledger = Ledger(historian, identity, checkpoint_every=100)
        t_verify_in = t_store = 0.0
        for group in chunks(signed, args.per_write):
            start = time.perf_counter()
            accepted: list[SignedBatch] = ledger.admit(group).accepted
            middle = time.perf_counter()
            ledger.store(accepted)
            if ledger.checkpoint_due():
                ledger.checkpoint()
            t_verify_in += middle - start
            t_store += time.perf_counter() - middle
        ledger.checkpoint()
        t_full = 0.0
        report = None

        def run_verify() -> None:
            nonlocal report
            report = verify_ledger(historian, {identity.gateway_id: identity.verifier})

        t_full = timed(run_verify)
        assert report is not None and report.ok and report.samples == n, report
        doc = inclusion_proof_for(historian, [identity.verifier], 1, "t0", T0 + 5 * S)
        checkpoints = historian.ledger_checkpoints()
        consistency = consistency_evidence(stored_log(historian), checkpoints[0].note,
                                           checkpoints[-1].note, [identity.verifier])
        historian.close()

    t_ledger = t_sign + t_verify_in + t_store
    rows = [
        ("baseline: SHA-256 of the canonical bytes", t_sha),
        ("baseline: plain historian write (no ledger)", t_plain),
        ("baseline: plain write, 1 batch per transaction", t_single),
        ("gateway: sort + sign", t_sign),
        ("receiver: verify signature + sequence", t_verify_in),
        ("receiver: leaves + blocks + rollups + tree + checkpoints", t_store),
        ("ledger path total (sign + verify + store)", t_ledger),
        ("full ledger verify (recompute everything)", t_full),
    ]
    print(f"  {'step':<58}{'seconds':>9}{'samples/s':>13}{'leaves/s':>11}")
    for name, seconds in rows:
        print(f"  {name:<58}{seconds:9.2f}{n / seconds:13,.0f}{count / seconds:11,.0f}")
    share = (t_ledger - t_plain) / t_ledger
    print(f"\n  ledger path / plain write = {t_ledger / t_plain:.2f}x; the ledger's share of "
          f"ingest time = {share:.0%}")
    print(f"  sign + verify / SHA-256 of the same bytes = {(t_sign + t_verify_in) / t_sha:.1f}x")
    print(f"  (the ledger stores each leaf as its own blocks: {TAGS * count:,} block rows, as "
          f"many as the 1-batch-per-transaction baseline; the plain write stores "
          f"{TAGS * -(-count // args.per_write):,})")
    print(f"  full verify / plain write = {t_full / t_plain:.2f}x")
    inclusion = json.dumps(doc)
    leaf_bytes = len(payloads[0])
    print(f"\n  inclusion proof for 1 sample, tree of {doc['tree_size']} leaves: "
          f"{len(doc['inclusion_proof'])} hashes ({32 * len(doc['inclusion_proof'])} B); the "
          f"JSON file {len(inclusion):,} B, of which the whole leaf {leaf_bytes:,} B")
    print(f"  consistency proof {consistency['old_size']} → {consistency['new_size']} leaves: "
          f"{len(consistency['consistency_proof'])} hashes")


if __name__ == "__main__":
    main()
