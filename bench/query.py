"""Query benchmark: one day of 1-minute averages for one tag among 1,000 tags holding
10,000,000 samples, on SQLite and PostgreSQL, against the same aggregate computed with SQL
GROUP BY over a one-row-per-sample table holding the same data, measured in the same run.

    .venv/bin/python bench/query.py [--tags 1000] [--samples-per-tag 10000] [--runs 15]
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import psycopg

from isthmus.historian import Aggregate, Historian, open_historian
from isthmus.historian.pgcopy import fixed_copy_buffer
from isthmus.model import SampleBatch, Tag

T = TypeVar("T")
S = 1_000_000_000
MINUTE = 60 * S
DAY = 24 * 3600 * S
T0 = 1_700_006_400 * S  # a UTC midnight
SPACING = 10 * S
STEPS_PER_BATCH = 50
BASELINE_SQL = ("SELECT (ts / {m}) * {m} AS bucket, avg(value), count(*) FROM samples "
                "WHERE tag_id = {p} AND ts >= {p} AND ts < {p} AND quality < 1073741824 "
                "GROUP BY bucket ORDER BY bucket")


def batches(tags: int, per_tag: int) -> Iterator[SampleBatch]:
    """Value = f(tag, ts), so a baseline holding fewer tags holds the same values."""
    for k in range(0, per_tag, STEPS_PER_BATCH):
        steps = min(STEPS_PER_BATCH, per_tag - k)
        ts = np.repeat(T0 + np.arange(k, k + steps, dtype=np.int64) * SPACING, tags)
        tag_id = np.tile(np.arange(1, tags + 1), steps)
        value = (50 + 10 * np.sin(ts / (600 * S) + tag_id) + (ts // SPACING % 7)).round(2)
        yield SampleBatch.of(tag_id, ts, value)


def load(h: Historian, tags: int, per_tag: int) -> float:
    h.register_tags([Tag(f"bench/site/area/line/cell/asset{i // 10}/s{i}")
                     for i in range(tags)])
    start = time.perf_counter()
    for b in batches(tags, per_tag):
        h.write(b)
    return time.perf_counter() - start


def median_ms(action: Callable[[], T], runs: int) -> tuple[float, T]:
    result = action()  # warm caches once, as a dashboard refreshing would
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        result = action()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000, result


def check_same(ours: Aggregate, rows: list[tuple[Any, ...]]) -> str:
    buckets = [r[0] for r in rows]
    same = (ours.bucket_ns.tolist() == buckets
            and np.allclose(ours.value, [r[1] for r in rows])
            and ours.count.tolist() == [r[2] for r in rows])
    return "results identical" if same else "RESULTS DIFFER"


def baseline_buffers(tags: int, per_tag: int) -> Iterator[bytes]:
    for b in batches(tags, per_tag):
        yield fixed_copy_buffer([b.tag_id, b.ts, b.value, b.quality.astype(np.int64)],
                                ("int4", "int8", "float8", "int8"))


def bench_sqlite(args: argparse.Namespace, folder: Path) -> list[tuple[str, str, float]]:
    h = open_historian(f"sqlite:///{folder}/ours.db")
    load_s = load(h, args.tags, args.samples_per_tag)
    tag = "bench/site/area/line/cell/asset0/s3"
    ours_ms, ours = median_ms(lambda: h.aggregate(tag, T0, T0 + DAY, MINUTE, "avg"), args.runs)
    n = h.sample_count()
    h.close()

    base_tags = args.sqlite_baseline_tags
    db = sqlite3.connect(folder / "baseline.db", isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("CREATE TABLE samples (tag_id INTEGER, ts INTEGER, value REAL, quality INTEGER)")
    start = time.perf_counter()
    db.execute("BEGIN")
    for b in batches(base_tags, args.samples_per_tag):
        db.executemany("INSERT INTO samples VALUES (?, ?, ?, ?)",
                       zip(b.tag_id.tolist(), b.ts.tolist(), b.value.tolist(),
                           b.quality.tolist(), strict=True))
    db.execute("COMMIT")
    db.execute("CREATE INDEX samples_by_tag ON samples (tag_id, ts)")
    base_load_s = time.perf_counter() - start
    sql = BASELINE_SQL.format(m=MINUTE, p="?")
    base_ms, rows = median_ms(lambda: db.execute(sql, (4, T0, T0 + DAY)).fetchall(), args.runs)
    db.close()
    same = check_same(ours, rows)
    return [(f"isthmus aggregate (rollups), {n:,} samples, loaded in {load_s:.1f} s", same,
             ours_ms),
            (f"baseline GROUP BY, 1 row/sample, {base_tags * args.samples_per_tag:,} rows, "
             f"loaded in {base_load_s:.1f} s", "", base_ms)]


def bench_postgres(args: argparse.Namespace) -> list[tuple[str, str, float]]:
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    h = open_historian(f"{args.pg_url}?schema={schema}")
    try:
        load_s = load(h, args.tags, args.samples_per_tag)
        tag = "bench/site/area/line/cell/asset0/s3"
        ours_ms, ours = median_ms(lambda: h.aggregate(tag, T0, T0 + DAY, MINUTE, "avg"),
                                  args.runs)
        n = h.sample_count()
        with psycopg.connect(args.pg_url, autocommit=True) as pg:
            pg.execute(f"SET search_path TO {schema}")
            pg.execute("CREATE TABLE samples (tag_id int, ts bigint, value float8, "
                       "quality bigint)")
            start = time.perf_counter()
            with pg.cursor() as cur, cur.copy("COPY samples FROM STDIN (FORMAT BINARY)") as cp:
                for i, buf in enumerate(baseline_buffers(args.tags, args.samples_per_tag)):
                    cp.write(buf[:-2] if i == 0 else buf[19:-2])  # one header, no trailers
                cp.write(b"\xff\xff")
            pg.execute("CREATE INDEX samples_by_tag ON samples (tag_id, ts)")
            pg.execute("ANALYZE samples")
            base_load_s = time.perf_counter() - start
            sql = BASELINE_SQL.format(m=MINUTE, p="%s")
            base_ms, rows = median_ms(
                lambda: pg.execute(sql, (4, T0, T0 + DAY)).fetchall(), args.runs)
    finally:
        h.close()
        with psycopg.connect(args.pg_url, autocommit=True) as pg:
            pg.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    same = check_same(ours, rows)
    return [(f"isthmus aggregate (rollups), {n:,} samples, loaded in {load_s:.1f} s", same,
             ours_ms),
            (f"baseline GROUP BY, 1 row/sample, {args.tags * args.samples_per_tag:,} rows, "
             f"loaded in {base_load_s:.1f} s", "", base_ms)]


def report(engine: str, results: list[tuple[str, str, float]]) -> None:
    print(f"\n{engine}: one day of 1-minute averages (1,440 buckets) for one tag "
          "(target ≤ 20 ms)")
    for name, note, ms in results:
        print(f"  {name:<80} {ms:>8.2f} ms  {note}")
    ratio = results[1][2] / results[0][2]
    print(f"  baseline / isthmus = {ratio:.1f}x;  target "
          f"{'met' if results[0][2] <= 20 else 'MISSED'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tags", type=int, default=1000)
    parser.add_argument("--samples-per-tag", type=int, default=10_000,
                        help="at 10 s spacing; 10,000 is about 28 h")
    parser.add_argument("--sqlite-baseline-tags", type=int, default=200,
                        help="tags in the SQLite baseline table (loading 10M rows one by one "
                             "takes a minute; the indexed query reads one tag either way)")
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--skip-postgres", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        report("SQLite", bench_sqlite(args, Path(folder)))
    if not args.skip_postgres:
        report("PostgreSQL", bench_postgres(args))


if __name__ == "__main__":
    main()
