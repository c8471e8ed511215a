"""Ledger benchmark: N samples in batches of 1,000 through the ledger path (gateway signature,
receiver verification and sequence check, Merkle append, leaves + blocks + rollups in the
historian, checkpoints) and a full `verify_ledger`, against the plain historian `write` of
the same batches, bare SHA-256 over the same canonical bytes and the cryptographic floor of
hash-then-sign (SHA-256 at both ends, one Ed25519 signature and one verification of the 40-byte
signed message per batch; version-1 signing of the whole bytes for comparison), all in the
same run (SQLite).

    .venv/bin/python bench/ledger.py [--samples 10000000] [--per-write 10] [--batch 1000]

Batches are generated, signed and written group by group, so memory stays flat at 10 M.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from isthmus.historian import LedgerHistorian, open_historian
from isthmus.integrity.canonical import signed_message
from isthmus.integrity.evidence import consistency_evidence, inclusion_proof_for, stored_log
from isthmus.integrity.hashing import leaf_hash
from isthmus.integrity.identity import GatewayIdentity
from isthmus.integrity.ledger import BatchSigner, Ledger
from isthmus.integrity.verify import VerifyReport, verify_ledger
from isthmus.model import SampleBatch, Tag

S = 1_000_000_000
T0 = 1_750_000_000 * S
TAGS = 100
STEPS = 10  # by default 100 tags x 10 timestamps = 1,000 samples per batch (--batch)
SINGLE_CAP = 500  # batches for the slow 1-batch-per-transaction baseline


def make_batch(k: int, rng: np.random.Generator, steps: int = STEPS) -> SampleBatch:
    ts = T0 + np.repeat(np.arange(k * steps, (k + 1) * steps, dtype=np.int64), TAGS) * S
    return SampleBatch.of(np.tile(np.arange(1, TAGS + 1), steps), ts,
                          rng.normal(size=TAGS * steps).round(3), None, ts + 2_000_000)


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def open_store(folder: Path, name: str) -> LedgerHistorian:
    historian = open_historian(f"sqlite:///{folder / name}")
    assert isinstance(historian, LedgerHistorian)
    historian.register_tags([Tag(f"acme/plant/area/line/cell/asset/t{i}") for i in range(TAGS)])
    return historian


@dataclass
class Times:
    sha: float = 0.0
    floor: float = 0.0
    v1: float = 0.0
    plain: float = 0.0
    single: float = 0.0
    sign: float = 0.0
    admit: float = 0.0
    store: float = 0.0
    single_batches: int = 0

    @contextmanager
    def clock(self, step: str) -> Iterator[None]:
        start = time.perf_counter()
        yield
        setattr(self, step, getattr(self, step) + time.perf_counter() - start)


def crypto_floor(identity: GatewayIdentity, payloads: list[bytes]) -> None:
    """What hash-then-sign costs at the least: the leaf hash at the gateway and again at the
    receiver, one signature and one verification of the 40-byte message per batch."""
    verifier = identity.verifier
    for payload in payloads:
        message = signed_message(leaf_hash(payload))
        signature = identity.sign(message)
        ok = verifier.verify(signed_message(leaf_hash(payload)), signature)
        assert ok


def version_1_crypto(identity: GatewayIdentity, payloads: list[bytes]) -> None:
    """The same with signed-message version 1, for comparison: Ed25519 over the whole
    canonical bytes at both ends, and the receiver's leaf hash for the log."""
    verifier = identity.verifier
    for payload in payloads:
        ok = verifier.verify(payload, identity.sign(payload))
        assert ok
        leaf_hash(payload)


def ingest(count: int, per_write: int, folder: Path, identity: GatewayIdentity,
           times: Times, steps: int) -> tuple[LedgerHistorian, int]:
    """Feed `count` batches, `per_write` at a time, through every path; return the ledger's
    historian and the canonical size of one batch."""
    rng = np.random.default_rng(11)
    plain, single = open_store(folder, "plain.db"), open_store(folder, "single.db")
    historian = open_store(folder, "ledger.db")
    ledger = Ledger(historian, identity)  # the gateway's schedule: 1,000 leaves or 60 s
    signer = BatchSigner(identity)
    leaf_bytes = 0
    for first in range(0, count, per_write):
        batches = [make_batch(k, rng, steps)
                   for k in range(first, min(first + per_write, count))]
        with times.clock("sign"):
            signed = [signer.sign("plc", b) for b in batches]
        payloads = [s.envelope().payload for s in signed]
        leaf_bytes = len(payloads[0])
        with times.clock("sha"):
            for payload in payloads:
                hashlib.sha256(b"\x00" + payload).digest()
        with times.clock("floor"):
            crypto_floor(identity, payloads)
        with times.clock("v1"):
            version_1_crypto(identity, payloads)
        with times.clock("plain"):
            plain.write(SampleBatch.concat(signed))
        if times.single_batches < SINGLE_CAP:
            with times.clock("single"):
                for one in signed:
                    single.write(one)
            times.single_batches += len(signed)
        with times.clock("admit"):
            admitted = ledger.admit(signed).accepted
        with times.clock("store"):
            ledger.store(admitted)
            if ledger.checkpoint_due():
                ledger.checkpoint()
    times.store += timed(ledger.checkpoint)
    plain.close()
    single.close()
    return historian, leaf_bytes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--samples", type=int, default=10_000_000)
    parser.add_argument("--per-write", type=int, default=10,
                        help="leaves per historian transaction (the sink coalesces)")
    parser.add_argument("--batch", type=int, default=TAGS * STEPS,
                        help=f"samples per batch, a multiple of {TAGS} (one per tag and time)")
    args = parser.parse_args()
    if args.batch < TAGS or args.batch % TAGS:
        parser.error(f"--batch {args.batch} must be a positive multiple of {TAGS}")
    steps = args.batch // TAGS
    count = args.samples // args.batch
    n = count * args.batch
    identity = GatewayIdentity.generate("bench-gw")
    print(f"{count:,} batches of {args.batch:,} samples = {n:,} samples; "
          f"{args.per_write} leaves per transaction; SQLite, synchronous=FULL\n")
    times = Times()
    with tempfile.TemporaryDirectory() as tmp:
        historian, leaf_bytes = ingest(count, args.per_write, Path(tmp), identity, times,
                                         steps)
        report: list[VerifyReport] = []
        t_full = timed(lambda: report.append(
            verify_ledger(historian, {identity.gateway_id: identity.verifier})))
        assert report[0].ok and report[0].samples == n, report[0].findings[:5]
        doc = inclusion_proof_for(historian, [identity.verifier], 1, "t0", T0 + 5 * S)
        checkpoints = historian.ledger_checkpoints()
        consistency = consistency_evidence(stored_log(historian), checkpoints[0].note,
                                           checkpoints[-1].note, [identity.verifier])
        block_rows = historian.sample_count(), len(historian.ledger_blocks(0, None))
        historian.close()
    print_table(times, t_full, n, args.batch)
    t_ledger = times.sign + times.admit + times.store
    print(f"\n  ledger path / plain write = {t_ledger / times.plain:.2f}x; the ledger's share "
          f"of ingest time = {(t_ledger - times.plain) / t_ledger:.0%} (of which sign + "
          f"verify {(times.sign + times.admit) / t_ledger:.0%})")
    print(f"  sign + verify / SHA-256 of the same bytes = "
          f"{(times.sign + times.admit) / times.sha:.1f}x; / the crypto floor = "
          f"{(times.sign + times.admit) / times.floor:.2f}x")
    per_million = 1e6 / n
    print(f"  per million samples: ledger path - plain write = "
          f"{(t_ledger - times.plain) * per_million:.3f} s (sign {times.sign * per_million:.3f}, "
          f"verify {times.admit * per_million:.3f}, storing beyond the plain write "
          f"{(times.store - times.plain) * per_million:.3f}); crypto floor "
          f"{times.floor * per_million:.3f} s")
    print(f"  at 1,000,000 samples/s the ledger takes "
          f"{(t_ledger - times.plain) * per_million:.0%} of each second")
    print(f"  ledger block rows: {block_rows[1]:,} for {block_rows[0]:,} samples (one per tag "
          f"per transaction, as the plain write)")
    print(f"  full verify / plain write = {t_full / times.plain:.2f}x")
    inclusion = json.dumps(doc)
    print(f"\n  inclusion proof for 1 sample, tree of {doc['tree_size']:,} leaves: "
          f"{len(doc['inclusion_proof'])} hashes ({32 * len(doc['inclusion_proof'])} B); the "
          f"JSON file {len(inclusion):,} B, of which the whole leaf {leaf_bytes:,} B")
    print(f"  consistency proof {consistency['old_size']:,} → {consistency['new_size']:,} "
          f"leaves: {len(consistency['consistency_proof'])} hashes "
          f"({32 * len(consistency['consistency_proof'])} B)")


def print_table(times: Times, t_full: float, n: int, batch: int) -> None:
    t_ledger = times.sign + times.admit + times.store
    single_n = times.single_batches * batch
    rows = [
        ("baseline: SHA-256 of the canonical bytes", times.sha, n),
        ("baseline: crypto floor (2 x SHA-256, sign + verify 40 B)", times.floor, n),
        ("  for comparison: version-1 signing (sign + verify all bytes, SHA)", times.v1, n),
        ("baseline: plain historian write (no ledger)", times.plain, n),
        (f"baseline: plain write, 1 batch per transaction (first {single_n:,})", times.single,
         single_n),
        ("gateway: sort + sign", times.sign, n),
        ("receiver: verify signature + sequence", times.admit, n),
        ("receiver: leaves + blocks + rollups + tree + checkpoints", times.store, n),
        ("ledger path total (sign + verify + store)", t_ledger, n),
        ("full ledger verify (recompute everything)", t_full, n),
    ]
    print(f"  {'step':<66}{'seconds':>9}{'samples/s':>13}{'leaves/s':>11}")
    for name, seconds, samples in rows:
        leaves = samples // batch
        print(f"  {name:<66}{seconds:9.2f}{samples / seconds:13,.0f}{leaves / seconds:11,.0f}")


if __name__ == "__main__":
    main()
