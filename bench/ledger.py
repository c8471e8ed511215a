"""Ledger benchmark: N samples in batches of 1,000 through the ledger path (gateway signature,
receiver verification and sequence check, Merkle append, leaves + blocks + rollups in the
historian, checkpoints) and a full `verify_ledger`, against the plain historian `write` of
the same batches, bare SHA-256 over the same canonical bytes and the cryptographic floor of
hash-then-sign (SHA-256 at both ends, one Ed25519 signature and one verification of the 40-byte
signed message per batch; the same with the receiver's own-key check, which signs again instead
of verifying, and with the signature the receiver recalls from the gateway's signer in the same
process; version-1 signing of the whole bytes for comparison), all in the same run (SQLite).

    .venv/bin/python bench/ledger.py [--samples 10000000] [--per-write 10] [--batch 1000]
                                     [--presorted]

Every step is timed in wall time and in the process's CPU time (all threads). Batches are
generated, signed and written group by group, so memory stays flat at 10 M.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

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
STEPS_TIMED = ("sha", "floor", "own", "memo", "v1", "plain", "single", "sign", "admit", "store",
               "verify")


def make_batch(k: int, rng: np.random.Generator, steps: int = STEPS, *,
               presorted: bool = False) -> SampleBatch:
    """Batch k: `steps` polls of the tags, time by time as polls arrive, or already in ledger
    order (tag by tag) with `presorted`."""
    ts = T0 + np.repeat(np.arange(k * steps, (k + 1) * steps, dtype=np.int64), TAGS) * S
    batch = SampleBatch.of(np.tile(np.arange(1, TAGS + 1), steps), ts,
                           rng.normal(size=TAGS * steps).round(3), None, ts + 2_000_000)
    return batch.take(np.lexsort((batch.ts, batch.tag_id))) if presorted else batch


def open_store(folder: Path, name: str) -> LedgerHistorian:
    historian = open_historian(f"sqlite:///{folder / name}")
    assert isinstance(historian, LedgerHistorian)
    historian.register_tags([Tag(f"acme/plant/area/line/cell/asset/t{i}") for i in range(TAGS)])
    return historian


@dataclass
class Times:
    """Seconds per step: wall time (`perf_counter`) and the process's CPU time over all its
    threads (`process_time`), which a shared machine's load disturbs less."""

    wall: dict[str, float] = field(default_factory=lambda: dict.fromkeys(STEPS_TIMED, 0.0))
    cpu: dict[str, float] = field(default_factory=lambda: dict.fromkeys(STEPS_TIMED, 0.0))
    single_batches: int = 0

    @contextmanager
    def clock(self, step: str) -> Iterator[None]:
        wall, cpu = time.perf_counter(), time.process_time()
        yield
        self.wall[step] += time.perf_counter() - wall
        self.cpu[step] += time.process_time() - cpu

    def add(self, step: str, action: Callable[[], object]) -> None:
        with self.clock(step):
            action()

    def ledger(self, clock: dict[str, float]) -> float:
        """The ledger path: the gateway's sort + sign, the receiver's checks and store."""
        return clock["sign"] + clock["admit"] + clock["store"]


def crypto_floor(identity: GatewayIdentity, payloads: list[bytes]) -> None:
    """What hash-then-sign costs at the least: the leaf hash at the gateway and again at the
    receiver, one signature and one verification of the 40-byte message per batch."""
    verifier = identity.verifier
    for payload in payloads:
        message = signed_message(leaf_hash(payload))
        signature = identity.sign(message)
        ok = verifier.verify(signed_message(leaf_hash(payload)), signature)
        assert ok


def own_key_floor(identity: GatewayIdentity, payloads: list[bytes]) -> None:
    """The floor when the receiver holds the gateway's key, as the gateway's own historian
    sink does: the leaf hash at both ends and two signatures of the 40-byte message (the
    receiver compares its own with the one it received)."""
    signer = identity.signer
    for payload in payloads:
        signature = identity.sign(signed_message(leaf_hash(payload)))
        ok = signer.recognises(signed_message(leaf_hash(payload)), signature)
        assert ok


def remembered_floor(identity: GatewayIdentity, payloads: list[bytes]) -> None:
    """The same when the receiver recalls the signature the gateway's signer made moments
    ago (its own sink, in its process): the leaf hash at both ends, one signature."""
    recent = identity.recent_batches
    for payload in payloads:
        message = signed_message(leaf_hash(payload))
        signature = identity.sign(message)
        recent.remember(message, signature)
        ok = recent.recall(signed_message(leaf_hash(payload)), signature)
        assert ok


def version_1_crypto(identity: GatewayIdentity, payloads: list[bytes]) -> None:
    """The same with signed-message version 1, for comparison: Ed25519 over the whole
    canonical bytes at both ends, and the receiver's leaf hash for the log."""
    verifier = identity.verifier
    for payload in payloads:
        ok = verifier.verify(payload, identity.sign(payload))
        assert ok
        leaf_hash(payload)


def ingest(count: int, per_write: int, folder: Path, identities: tuple[GatewayIdentity,
                                                                      GatewayIdentity],
           times: Times, steps: int, presorted: bool) -> tuple[LedgerHistorian, int]:
    """Feed `count` batches, `per_write` at a time, through every path; return the ledger's
    historian and the canonical size of one batch. The floors sign with a second identity of
    the same key, so that they do not take the signatures the gateway's signer remembers."""
    identity, floors = identities
    rng = np.random.default_rng(11)
    plain, single = open_store(folder, "plain.db"), open_store(folder, "single.db")
    historian = open_store(folder, "ledger.db")
    ledger = Ledger(historian, identity)  # the gateway's schedule: 1,000 leaves or 60 s
    signer = BatchSigner(identity)
    leaf_bytes = 0
    for first in range(0, count, per_write):
        batches = [make_batch(k, rng, steps, presorted=presorted)
                   for k in range(first, min(first + per_write, count))]
        with times.clock("sign"):
            signed = [signer.sign("plc", b) for b in batches]
        payloads = [s.envelope().payload for s in signed]
        leaf_bytes = len(payloads[0])
        with times.clock("sha"):
            for payload in payloads:
                hashlib.sha256(b"\x00" + payload).digest()
        with times.clock("floor"):
            crypto_floor(floors, payloads)
        with times.clock("own"):
            own_key_floor(floors, payloads)
        with times.clock("memo"):
            remembered_floor(floors, payloads)
        with times.clock("v1"):
            version_1_crypto(floors, payloads)
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
    times.add("store", ledger.checkpoint)
    plain.close()
    single.close()
    return historian, leaf_bytes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--samples", type=int, default=10_000_000)
    parser.add_argument("--per-write", type=int, default=10,
                        help="leaves per historian transaction (the sink coalesces)")
    parser.add_argument("--presorted", action="store_true",
                        help="batches arrive in ledger order (as one poll of the tags in id "
                             "order does); by default they hold several polls, time by time")
    parser.add_argument("--batch", type=int, default=TAGS * STEPS,
                        help=f"samples per batch, a multiple of {TAGS} (one per tag and time)")
    args = parser.parse_args()
    if args.batch < TAGS or args.batch % TAGS:
        parser.error(f"--batch {args.batch} must be a positive multiple of {TAGS}")
    steps = args.batch // TAGS
    count = args.samples // args.batch
    n = count * args.batch
    key = Ed25519PrivateKey.generate()
    identity, floors = GatewayIdentity("bench-gw", key), GatewayIdentity("bench-gw", key)
    print(f"{count:,} batches of {args.batch:,} samples = {n:,} samples; "
          f"{args.per_write} leaves per transaction; SQLite, synchronous=FULL"
          f"{'; batches arrive in ledger order' if args.presorted else ''}\n")
    times = Times()
    with tempfile.TemporaryDirectory() as tmp:
        historian, leaf_bytes = ingest(count, args.per_write, Path(tmp), (identity, floors),
                                         times, steps, args.presorted)
        report: list[VerifyReport] = []
        times.add("verify", lambda: report.append(
            verify_ledger(historian, {identity.gateway_id: identity.verifier})))
        assert report[0].ok and report[0].samples == n, report[0].findings[:5]
        doc = inclusion_proof_for(historian, [identity.verifier], 1, "t0", T0 + 5 * S)
        checkpoints = historian.ledger_checkpoints()
        consistency = consistency_evidence(stored_log(historian), checkpoints[0].note,
                                           checkpoints[-1].note, [identity.verifier])
        block_rows = historian.sample_count(), len(historian.ledger_blocks(0, None))
        historian.close()
    print_table(times, n, args.batch)
    print()
    for kind, clock in (("wall", times.wall), ("CPU", times.cpu)):
        print_shares(kind, clock, n)
    print(f"  ledger block rows: {block_rows[1]:,} for {block_rows[0]:,} samples (one per tag "
          f"per transaction, as the plain write)")
    print(f"  full verify / plain write = {times.wall['verify'] / times.wall['plain']:.2f}x")
    inclusion = json.dumps(doc)
    print(f"\n  inclusion proof for 1 sample, tree of {doc['tree_size']:,} leaves: "
          f"{len(doc['inclusion_proof'])} hashes ({32 * len(doc['inclusion_proof'])} B); the "
          f"JSON file {len(inclusion):,} B, of which the whole leaf {leaf_bytes:,} B")
    print(f"  consistency proof {consistency['old_size']:,} → {consistency['new_size']:,} "
          f"leaves: {len(consistency['consistency_proof'])} hashes "
          f"({32 * len(consistency['consistency_proof'])} B)")


def print_shares(kind: str, clock: dict[str, float], n: int) -> None:
    """What the ledger adds to the plain write, by wall time or by CPU time."""
    ledger = clock["sign"] + clock["admit"] + clock["store"]
    extra, crypto = ledger - clock["plain"], clock["sign"] + clock["admit"]
    per_million = 1e6 / n
    print(f"  {kind}: ledger path / plain write = {ledger / clock['plain']:.2f}x; the ledger's "
          f"share of ingest time = {extra / ledger:.0%} (of which sign + verify "
          f"{crypto / ledger:.0%}); sign + verify / SHA-256 = {crypto / clock['sha']:.1f}x, "
          f"/ crypto floor = {crypto / clock['floor']:.2f}x, / own-key floor = "
          f"{crypto / clock['own']:.2f}x, / remembered floor = {crypto / clock['memo']:.2f}x")
    print(f"  {kind}: per million samples: ledger path - plain write = "
          f"{extra * per_million:.3f} s (sign {clock['sign'] * per_million:.3f}, verify "
          f"{clock['admit'] * per_million:.3f}, storing beyond the plain write "
          f"{(clock['store'] - clock['plain']) * per_million:.3f}); crypto floor "
          f"{clock['floor'] * per_million:.3f} s, with the own-key check "
          f"{clock['own'] * per_million:.3f} s, with the remembered signature "
          f"{clock['memo'] * per_million:.3f} s")
    print(f"  {kind}: at 1,000,000 samples/s the ledger takes {extra * per_million:.0%} of "
          f"each second{' of one core' if kind == 'CPU' else ''}")


def print_table(times: Times, n: int, batch: int) -> None:
    single_n = times.single_batches * batch
    rows = [
        ("baseline: SHA-256 of the canonical bytes", "sha", n),
        ("baseline: crypto floor (2 x SHA-256, sign + verify 40 B)", "floor", n),
        ("  with the own-key check (2 x SHA-256, sign 40 B twice)", "own", n),
        ("  with the remembered signature (2 x SHA-256, sign 40 B once)", "memo", n),
        ("  for comparison: version-1 signing (sign + verify all bytes, SHA)", "v1", n),
        ("baseline: plain historian write (no ledger)", "plain", n),
        (f"baseline: plain write, 1 batch per transaction (first {single_n:,})", "single",
         single_n),
        ("gateway: sort + sign", "sign", n),
        ("receiver: verify signature + sequence", "admit", n),
        ("receiver: leaves + blocks + rollups + tree + checkpoints", "store", n),
        ("ledger path total (sign + verify + store)", "", n),
        ("full ledger verify (recompute everything)", "verify", n),
    ]
    print(f"  {'step':<66}{'seconds':>9}{'CPU s':>8}{'samples/s':>13}{'leaves/s':>11}")
    for name, step, samples in rows:
        wall = times.wall[step] if step else times.ledger(times.wall)
        cpu = times.cpu[step] if step else times.ledger(times.cpu)
        print(f"  {name:<66}{wall:9.2f}{cpu:8.2f}{samples / wall:13,.0f}"
              f"{samples // batch / wall:11,.0f}")


if __name__ == "__main__":
    main()
