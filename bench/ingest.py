"""Ingest benchmark: samples/s into the historian (SQLite and PostgreSQL) from a stream of
gateway-sized SampleBatches, against one-row-per-sample batched INSERT (the baseline) and
against the raw ceilings of each engine, all measured in the same run.

    .venv/bin/python bench/ingest.py [--tags 1000] [--steps 50] [--batches 40]
"""

from __future__ import annotations

import argparse
import sqlite3
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import psycopg

from isthmus.historian import Historian, open_historian
from isthmus.historian.codec import encode_blocks, sort_by_tag_and_time
from isthmus.historian.pgcopy import fixed_copy_buffer
from isthmus.model import SampleBatch, Tag

S = 1_000_000_000
T0 = 1_700_000_000 * S


def make_batches(tags: int, steps: int, batches: int) -> list[SampleBatch]:
    """`tags` signals sampled every second; each batch holds `steps` seconds of all tags."""
    rng = np.random.default_rng(7)
    out = []
    for k in range(batches):
        ts = T0 + np.arange(k * steps, (k + 1) * steps, dtype=np.int64) * S
        values = np.cumsum(rng.normal(size=tags * steps)).round(3)
        out.append(SampleBatch.of(np.tile(np.arange(1, tags + 1), steps),
                                  np.repeat(ts, tags), values, None,
                                  np.repeat(ts, tags) + 2_000_000))
    return out


def timed(action: Callable[[], None]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def rows_of(batches: Sequence[SampleBatch], limit: int) -> list[list[tuple[int, int, float, int]]]:
    """Per-sample tuples for the baseline, batch by batch, up to `limit` samples."""
    out, total = [], 0
    for b in batches:
        if total >= limit:
            break
        rows = list(zip(b.tag_id.tolist(), b.ts.tolist(), b.value.tolist(), b.quality.tolist(),
                        strict=True))
        out.append(rows)
        total += len(rows)
    return out


def write_all(h: Historian, batches: Sequence[SampleBatch]) -> None:
    for b in batches:
        h.write(b)


def register(h: Historian, tags: int) -> None:
    h.register_tags([Tag(f"bench/site/area/line/cell/asset{i // 10}/s{i}")
                     for i in range(tags)])


def bench_sqlite(batches: list[SampleBatch], tags: int, baseline_limit: int,
                 folder: Path) -> list[tuple[str, int, float]]:
    n = sum(len(b) for b in batches)
    h = open_historian(f"sqlite:///{folder}/ours.db")
    register(h, tags)
    ours = timed(lambda: write_all(h, batches))
    h.close()

    base_rows = rows_of(batches, baseline_limit)
    db = sqlite3.connect(folder / "baseline.db", isolation_level=None)
    for pragma in ("journal_mode=WAL", "synchronous=FULL"):
        db.execute(f"PRAGMA {pragma}")
    db.execute("CREATE TABLE samples (tag_id INTEGER, ts INTEGER, value REAL, quality INTEGER)")
    db.execute("CREATE INDEX samples_by_tag ON samples (tag_id, ts)")

    def baseline() -> None:
        for rows in base_rows:
            db.execute("BEGIN")
            db.executemany("INSERT INTO samples VALUES (?, ?, ?, ?)", rows)
            db.execute("COMMIT")

    base = timed(baseline)
    prepared = [[(b.tag_id, b.min_ts, b.max_ts, b.n, b.payload)
                 for b in encode_blocks(sort_by_tag_and_time(x))] for x in batches]
    db.execute("CREATE TABLE blocks (id INTEGER PRIMARY KEY, tag_id INTEGER, min_ts INTEGER, "
               "max_ts INTEGER, n INTEGER, payload BLOB)")
    db.execute("CREATE INDEX blocks_by_tag ON blocks (tag_id, max_ts, min_ts)")

    def ceiling() -> None:
        for rows in prepared:
            db.execute("BEGIN")
            db.executemany("INSERT INTO blocks (tag_id, min_ts, max_ts, n, payload) "
                           "VALUES (?, ?, ?, ?, ?)", rows)
            db.execute("COMMIT")

    ceil = timed(ceiling)
    db.close()
    return [("isthmus (blocks + rollups)", n, ours),
            ("baseline: executemany INSERT, 1 row/sample", sum(map(len, base_rows)), base),
            ("ceiling: INSERT of prepared blocks, no rollups", n, ceil)]


def bench_postgres(batches: list[SampleBatch], tags: int, baseline_limit: int,
                   url: str) -> list[tuple[str, int, float]]:
    n = sum(len(b) for b in batches)
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    h = open_historian(f"{url}?schema={schema}")
    try:
        register(h, tags)
        ours = timed(lambda: write_all(h, batches))
        with psycopg.connect(url, autocommit=True) as pg:
            pg.execute(f"SET search_path TO {schema}")
            pg.execute("CREATE TABLE samples (tag_id int, ts bigint, value float8, "
                       "quality bigint)")
            pg.execute("CREATE INDEX samples_by_tag ON samples (tag_id, ts)")
            base_rows = rows_of(batches, baseline_limit)

            def baseline() -> None:
                for rows in base_rows:
                    with pg.transaction(), pg.cursor() as cur:
                        cur.executemany("INSERT INTO samples VALUES (%s, %s, %s, %s)", rows)

            base = timed(baseline)
            pg.execute("CREATE TABLE plain (tag_id int, ts bigint, value float8, "
                       "quality bigint)")
            buffers = [fixed_copy_buffer([b.tag_id, b.ts, b.value, b.quality.astype(np.int64)],
                                         ("int4", "int8", "float8", "int8")) for b in batches]

            def ceiling() -> None:
                for buf in buffers:
                    with pg.transaction(), pg.cursor() as cur, \
                            cur.copy("COPY plain FROM STDIN (FORMAT BINARY)") as copy:
                        copy.write(buf)

            ceil = timed(ceiling)
    finally:
        h.close()
        with psycopg.connect(url, autocommit=True) as pg:
            pg.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    return [("isthmus (COPY blocks + rollups)", n, ours),
            ("baseline: executemany INSERT, 1 row/sample", sum(map(len, base_rows)), base),
            ("ceiling: COPY BINARY rows, no index", n, ceil)]


def report(engine: str, results: list[tuple[str, int, float]], target: float) -> None:
    ours, base, ceil = ((n / s) for _, n, s in results)
    print(f"\n{engine}  (target ≥ {target:,.0f} samples/s)")
    print(f"  {'method':<48} {'samples':>10} {'seconds':>8} {'samples/s':>12}")
    for name, n, seconds in results:
        print(f"  {name:<48} {n:>10,} {seconds:>8.2f} {n / seconds:>12,.0f}")
    print(f"  isthmus / baseline = {ours / base:.1f}x;  isthmus / ceiling = {ours / ceil:.0%};"
          f"  target {'met' if ours >= target else 'MISSED'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tags", type=int, default=1000)
    parser.add_argument("--steps", type=int, default=50, help="timestamps per tag per batch")
    parser.add_argument("--batches", type=int, default=40)
    parser.add_argument("--baseline-samples", type=int, default=200_000,
                        help="samples the slow baseline inserts (it is measured on fewer)")
    parser.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--skip-postgres", action="store_true")
    args = parser.parse_args()
    batches = make_batches(args.tags, args.steps, args.batches)
    print(f"{args.batches} batches of {args.tags} tags x {args.steps} timestamps "
          f"= {len(batches[0]):,} samples each, {sum(map(len, batches)):,} in all")
    with tempfile.TemporaryDirectory() as folder:
        report("SQLite (WAL, synchronous=FULL)",
               bench_sqlite(batches, args.tags, args.baseline_samples, Path(folder)), 1e6)
    if not args.skip_postgres:
        report("PostgreSQL", bench_postgres(batches, args.tags, args.baseline_samples,
                                            args.pg_url), 5e5)


if __name__ == "__main__":
    main()
