"""PostgreSQL historian: the same block layout as SQLite in a table partitioned by day on
the block's first timestamp, written with binary COPY; rollups merged from a staging table."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import Any

import numpy as np
import psycopg

from isthmus.historian import query
from isthmus.historian.api import Aggregate
from isthmus.historian.codec import Block, decode_blocks, encode_blocks, sort_by_tag_and_time
from isthmus.historian.errors import HistorianError, HistorianUnavailable
from isthmus.historian.pgcopy import blocks_copy_buffer, fixed_copy_buffer
from isthmus.historian.query import ROLLUP_PART_SPAN, BlockRow
from isthmus.historian.rows import (
    EVENT_COLUMNS,
    TAG_COLUMNS,
    event_to_row,
    row_to_event,
    row_to_tag,
    tag_to_row,
)
from isthmus.historian.stats import BucketStats
from isthmus.model import Event, SampleBatch, Tag, TagRegistry, UnknownTagError

__all__ = ["DAY_NS", "PostgresHistorian"]

DAY_NS = 24 * query.HOUR_NS
_ROLLUP_COLUMNS = ("tag_id", "bucket", "count", "sum", "min", "max", "first_ts",
                   "first_value", "last_ts", "last_value")
_ROLLUP_TYPES = ("int4", "int8", "int8", "float8", "float8", "float8", "int8", "float8",
                 "int8", "float8")
_ROLLUP_TABLES = {query.MINUTE_NS: "rollup_1m", query.HOUR_NS: "rollup_1h"}


def _schema_sql() -> list[str]:
    rollups = [f"""CREATE TABLE IF NOT EXISTS {t} (
  part bigint NOT NULL, tag_id integer NOT NULL, bucket bigint NOT NULL,
  count bigint NOT NULL, sum float8 NOT NULL,
  min float8 NOT NULL, max float8 NOT NULL, first_ts bigint NOT NULL,
  first_value float8 NOT NULL, last_ts bigint NOT NULL, last_value float8 NOT NULL,
  PRIMARY KEY (part, tag_id, bucket))""" for t in _ROLLUP_TABLES.values()]
    return [
        """CREATE TABLE IF NOT EXISTS tags (
  id integer PRIMARY KEY, path text NOT NULL UNIQUE, unit text NOT NULL,
  data_type text NOT NULL, low float8, high float8, deadband float8 NOT NULL,
  scan_rate_s float8 NOT NULL, description text NOT NULL, source jsonb NOT NULL)""",
        "CREATE SEQUENCE IF NOT EXISTS blocks_id_seq",
        """CREATE TABLE IF NOT EXISTS blocks (
  id bigint NOT NULL DEFAULT nextval('blocks_id_seq'), tag_id integer NOT NULL,
  min_ts bigint NOT NULL, max_ts bigint NOT NULL, n integer NOT NULL,
  payload bytea NOT NULL) PARTITION BY RANGE (min_ts)""",
        "CREATE INDEX IF NOT EXISTS blocks_by_tag ON blocks (tag_id, max_ts, min_ts)",
        "CREATE TABLE IF NOT EXISTS ingest_marks (stream text PRIMARY KEY, seq bigint NOT NULL)",
        """CREATE TABLE IF NOT EXISTS events (
  id bigserial PRIMARY KEY, ts bigint NOT NULL, kind text NOT NULL, severity integer NOT NULL,
  message text NOT NULL, source text NOT NULL, asset text, tag text, techniques jsonb NOT NULL,
  data jsonb NOT NULL)""",
        "CREATE INDEX IF NOT EXISTS events_by_ts ON events (ts)",
        "CREATE INDEX IF NOT EXISTS events_by_kind ON events (kind, ts)",
        *rollups,
    ]


def _partition_name(day: int) -> str:
    return f"blocks_d{day}" if day >= 0 else f"blocks_dm{-day}"


class PostgresHistorian:
    """Thread-safe (one lock, one connection) PostgreSQL historian in schema `schema`.
    A lost connection raises HistorianUnavailable; the next call reconnects."""

    def __init__(self, conninfo: str, *, schema: str = "isthmus") -> None:
        self._conninfo = conninfo
        self._schema = schema
        self._where = f"postgresql historian (schema {schema})"
        self._lock = threading.Lock()
        self._pg: psycopg.Connection[tuple[Any, ...]] | None = None
        self._partitions: set[int] = set()
        self._known_ids: set[int] = set()
        with self._session("create schema") as pg:
            self._create_schema(pg)

    # --- connection -------------------------------------------------------------------------
    def _connect(self) -> psycopg.Connection[tuple[Any, ...]]:
        if self._pg is None or self._pg.closed:
            self._pg = psycopg.connect(self._conninfo, autocommit=True, connect_timeout=5)
            ident = psycopg.sql.Identifier(self._schema)
            self._pg.execute(psycopg.sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(ident))
            self._pg.execute(psycopg.sql.SQL("SET search_path TO {}").format(ident))
        return self._pg

    @contextmanager
    def _session(self, action: str) -> Iterator[psycopg.Connection[tuple[Any, ...]]]:
        with self._lock:
            try:
                yield self._connect()
            except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
                self._drop_connection()
                raise HistorianUnavailable(f"{self._where}: {action}: {exc}") from exc
            except psycopg.Error as exc:
                raise HistorianError(f"{self._where}: {action}: {exc}") from exc

    def _drop_connection(self) -> None:
        if self._pg is not None:
            with suppress(psycopg.Error):  # already broken: nothing more to release
                self._pg.close()
        self._pg = None

    def _create_schema(self, pg: psycopg.Connection[tuple[Any, ...]]) -> None:
        with pg.transaction():
            pg.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (self._schema,))
            for statement in _schema_sql():
                pg.execute(statement)
        rows = pg.execute("SELECT c.relname FROM pg_inherits i JOIN pg_class c ON "
                          "c.oid = i.inhrelid WHERE i.inhparent = 'blocks'::regclass").fetchall()
        for (name,) in rows:
            digits = str(name).removeprefix("blocks_d")
            self._partitions.add(-int(digits[1:]) if digits.startswith("m") else int(digits))

    def _ensure_partitions(self, pg: psycopg.Connection[tuple[Any, ...]],
                           min_ts: Sequence[int]) -> None:
        days = {ts // DAY_NS for ts in min_ts} - self._partitions
        for day in sorted(days):
            with pg.transaction():
                pg.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (self._schema,))
                pg.execute(f"CREATE TABLE IF NOT EXISTS {_partition_name(day)} PARTITION OF "
                           f"blocks FOR VALUES FROM ({day * DAY_NS}) TO ({(day + 1) * DAY_NS})")
            self._partitions.add(day)

    # --- tags -------------------------------------------------------------------------------
    def register_tags(self, tags: Sequence[Tag]) -> TagRegistry:
        sets = ", ".join(f"{c} = %s" for c in TAG_COLUMNS[1:])
        with self._session("register tags") as pg, pg.transaction():
            pg.execute("LOCK TABLE tags IN EXCLUSIVE MODE")
            known: dict[str, int] = {str(p): int(i) for p, i in
                                     pg.execute("SELECT path, id FROM tags").fetchall()}
            next_id = max(known.values(), default=0) + 1
            for tag in tags:
                row = tag_to_row(tag)
                if tag.path in known:
                    pg.execute(f"UPDATE tags SET {sets} WHERE id = %s",
                               (*row[1:], known[tag.path]))
                    continue
                pg.execute(f"INSERT INTO tags (id, {', '.join(TAG_COLUMNS)}) "
                           f"VALUES (%s{', %s' * len(row)})", (next_id, *row))
                known[tag.path] = next_id
                next_id += 1
        return self.registry()

    def registry(self) -> TagRegistry:
        with self._session("read tags") as pg:
            rows = pg.execute(f"SELECT id, {', '.join(TAG_COLUMNS)} FROM tags").fetchall()
        self._known_ids = {int(r[0]) for r in rows}
        return TagRegistry((int(r[0]), row_to_tag(r[1:])) for r in rows)

    def _tag_id(self, path: str) -> int:
        with self._session("read tags") as pg:
            row = pg.execute("SELECT id FROM tags WHERE path = %s", (path,)).fetchone()
        if row is None:
            raise UnknownTagError(f"{self._where}: unknown tag {path!r}")
        return int(row[0])

    def _check_known(self, tag_ids: np.ndarray) -> None:
        ids = set(tag_ids.tolist())
        if not ids <= self._known_ids:
            self.registry()
        unknown = ids - self._known_ids
        if unknown:
            raise UnknownTagError(f"{self._where}: batch has samples for unregistered tag ids "
                                  f"{sorted(unknown)[:10]}; register the tags first")

    # --- writes -----------------------------------------------------------------------------
    def write(self, batch: SampleBatch) -> None:
        self._write(batch, None)

    def write_sequenced(self, batch: SampleBatch, *, stream: str, seq: int) -> bool:
        return self._write(batch, (stream, seq))

    def high_water(self, stream: str) -> int:
        with self._session("read high-water mark") as pg:
            row = pg.execute("SELECT seq FROM ingest_marks WHERE stream = %s",
                             (stream,)).fetchone()
        return 0 if row is None else int(row[0])

    def _write(self, batch: SampleBatch, mark: tuple[str, int] | None) -> bool:
        ordered = sort_by_tag_and_time(batch)
        self._check_known(ordered.tag_ids)
        blocks = encode_blocks(ordered)
        rollups = query.rollups_of(ordered.batch)
        with self._session("write samples") as pg:
            self._ensure_partitions(pg, [b.min_ts for b in blocks])
            with pg.transaction():
                if mark is not None and not _advance_mark(pg, *mark):
                    return False
                _copy_blocks(pg, blocks)
                _upsert_rollups(pg, rollups)
        return True

    # --- reads ------------------------------------------------------------------------------
    def select_blocks(self, tag_ids: Sequence[int] | None, start_ns: int,
                      end_ns: int) -> list[BlockRow]:
        sql = "SELECT tag_id, min_ts, n, payload FROM blocks WHERE max_ts >= %s AND min_ts < %s"
        with self._session("read blocks") as pg:
            if tag_ids is None:
                rows = pg.execute(sql + " ORDER BY id", (start_ns, end_ns)).fetchall()
            else:
                rows = pg.execute(sql + " AND tag_id = ANY(%s) ORDER BY id",
                                  (start_ns, end_ns, list(tag_ids))).fetchall()
        return [(r[0], r[1], r[2], bytes(r[3])) for r in rows]

    def select_rollups(self, level_ns: int, tag_id: int, start_ns: int,
                       end_ns: int) -> BucketStats:
        span = ROLLUP_PART_SPAN[level_ns]
        parts = list(range(start_ns // span, (end_ns - 1) // span + 1))
        with self._session("read rollups") as pg:
            rows = pg.execute(
                f"SELECT {', '.join(_ROLLUP_COLUMNS)} FROM {_ROLLUP_TABLES[level_ns]} "
                "WHERE part = ANY(%s) AND tag_id = %s AND bucket >= %s AND bucket < %s "
                "ORDER BY bucket", (parts, tag_id, start_ns, end_ns)).fetchall()
        if not rows:
            return BucketStats.empty()
        return BucketStats.from_columns(list(zip(*rows, strict=True)))

    def raw(self, tag: str, start_ns: int, end_ns: int, *,
            limit: int | None = None) -> SampleBatch:
        tag_id = self._tag_id(tag)
        result = decode_blocks(self.select_blocks([tag_id], start_ns, end_ns), start_ns, end_ns)
        return result if limit is None else result.take(np.arange(min(limit, len(result))))

    def aggregate(self, tag: str, start_ns: int, end_ns: int, every_ns: int,
                  fn: str) -> Aggregate:
        return query.aggregate(self, self._tag_id(tag), start_ns, end_ns, every_ns, fn)

    def latest(self, tags: Sequence[str]) -> SampleBatch:
        found: list[SampleBatch] = []
        for path in tags:
            tag_id = self._tag_id(path)
            with self._session("read latest") as pg:
                rows = pg.execute(
                    "SELECT tag_id, min_ts, n, payload FROM blocks WHERE tag_id = %s AND "
                    "max_ts = (SELECT max(max_ts) FROM blocks WHERE tag_id = %s) ORDER BY id",
                    (tag_id, tag_id)).fetchall()
            if rows:
                blocks = [(r[0], r[1], r[2], bytes(r[3])) for r in rows]
                everything = decode_blocks(blocks, -(2**63), 2**63 - 1)
                found.append(everything.take(np.array([len(everything) - 1])))
        return SampleBatch.concat(found)

    def sample_count(self) -> int:
        with self._session("count samples") as pg:
            row = pg.execute("SELECT coalesce(sum(n), 0) FROM blocks").fetchone()
        return 0 if row is None else int(row[0])

    # --- retention --------------------------------------------------------------------------
    def apply_retention(self, older_than_ns: int) -> int:
        cutoff = older_than_ns
        removed = self._drop_old_partitions(cutoff)
        with self._session("read blocks for retention") as pg:
            straddling = pg.execute(
                "SELECT id, tag_id, min_ts, n, payload FROM blocks WHERE min_ts < %s AND "
                "max_ts >= %s ORDER BY id", (cutoff, cutoff)).fetchall()
        trimmed, remainder = query.trim_blocks(
            [(r[1], r[2], r[3], bytes(r[4])) for r in straddling], cutoff)
        with self._session("apply retention") as pg:
            self._ensure_partitions(pg, [b.min_ts for b in remainder])
            with pg.transaction():
                row = pg.execute("WITH gone AS (DELETE FROM blocks WHERE max_ts < %s "
                                 "RETURNING n) SELECT coalesce(sum(n), 0) FROM gone",
                                 (cutoff,)).fetchone()
                removed += 0 if row is None else int(row[0])
                pg.execute("DELETE FROM blocks WHERE id = ANY(%s)", ([r[0] for r in straddling],))
                _copy_blocks(pg, remainder)
        fresh = query.straddling_rollups(self, cutoff)
        with self._session("apply retention to rollups") as pg, pg.transaction():
            for level in fresh:
                pg.execute(f"DELETE FROM {_ROLLUP_TABLES[level]} WHERE part <= %s AND "
                           "bucket < %s", (cutoff // ROLLUP_PART_SPAN[level], cutoff))
            _upsert_rollups(pg, fresh)
        return removed + trimmed

    def _drop_old_partitions(self, cutoff: int) -> int:
        """Drop whole day partitions whose every block ends before the cutoff."""
        removed = 0
        for day in sorted(d for d in self._partitions if (d + 1) * DAY_NS <= cutoff):
            name = _partition_name(day)
            with self._session("drop old partition") as pg, pg.transaction():
                row = pg.execute(f"SELECT max(max_ts), coalesce(sum(n), 0) FROM {name}").fetchone()
                if row is None or (row[0] is not None and row[0] >= cutoff):
                    continue
                removed += int(row[1])
                pg.execute(f"DROP TABLE {name}")
            self._partitions.discard(day)
        return removed

    # --- events -----------------------------------------------------------------------------
    def write_events(self, events: Sequence[Event]) -> None:
        marks = ", ".join(["%s"] * len(EVENT_COLUMNS))
        with self._session("write events") as pg, pg.transaction(), pg.cursor() as cur:
            cur.executemany(f"INSERT INTO events ({', '.join(EVENT_COLUMNS)}) VALUES ({marks})",
                            [event_to_row(e) for e in events])

    def events(self, start_ns: int, end_ns: int, *, kind: str | None = None,
               limit: int = 1000) -> list[Event]:
        sql = f"SELECT {', '.join(EVENT_COLUMNS)} FROM events WHERE ts >= %s AND ts < %s"
        args: tuple[object, ...] = (start_ns, end_ns)
        if kind is not None:
            sql, args = sql + " AND kind = %s", (*args, kind)
        with self._session("read events") as pg:
            rows = pg.execute(sql + " ORDER BY ts, id LIMIT %s", (*args, limit)).fetchall()
        return [row_to_event(r) for r in rows]

    def close(self) -> None:
        with self._lock:
            self._drop_connection()


def _advance_mark(pg: psycopg.Connection[tuple[Any, ...]], stream: str, seq: int) -> bool:
    """Move the stream's high-water mark to seq inside the caller's transaction; False if
    the batch was already applied."""
    row = pg.execute("INSERT INTO ingest_marks VALUES (%s, 0) ON CONFLICT (stream) DO UPDATE "
                     "SET seq = ingest_marks.seq RETURNING seq", (stream,)).fetchone()
    if row is not None and int(row[0]) >= seq:
        return False
    pg.execute("UPDATE ingest_marks SET seq = %s WHERE stream = %s", (seq, stream))
    return True


def _copy_blocks(pg: psycopg.Connection[tuple[Any, ...]], blocks: Sequence[Block]) -> None:
    if not blocks:
        return
    with pg.cursor() as cur, cur.copy("COPY blocks (tag_id, min_ts, max_ts, n, payload) "
                                      "FROM STDIN (FORMAT BINARY)") as copy:
        copy.write(blocks_copy_buffer(blocks))


def _upsert_rollups(pg: psycopg.Connection[tuple[Any, ...]],
                    rollups: dict[int, BucketStats]) -> None:
    """COPY every level's rows into one per-session staging table, then merge each level
    with one upsert (measured: 4x faster than sending Python lists as arrays to unnest)."""
    rollups = {level: stats for level, stats in rollups.items() if len(stats)}
    if not rollups:
        return
    pg.execute("CREATE TEMP TABLE IF NOT EXISTS stage_rollups (level bigint NOT NULL, "
               "LIKE rollup_1m) ON COMMIT DELETE ROWS")
    levels = np.concatenate([np.full(len(st), lv, np.int64) for lv, st in rollups.items()])
    parts = np.concatenate([st.bucket // ROLLUP_PART_SPAN[lv] for lv, st in rollups.items()])
    columns = [np.concatenate(c) for c in zip(*(st.columns() for st in rollups.values()),
                                              strict=True)]
    with pg.cursor() as cur, cur.copy("COPY stage_rollups FROM STDIN (FORMAT BINARY)") as copy:
        copy.write(fixed_copy_buffer([levels, parts, *columns],
                                     ("int8", "int8", *_ROLLUP_TYPES)))
    for level in rollups:
        pg.execute(
            f"INSERT INTO {_ROLLUP_TABLES[level]} AS r SELECT part, "
            f"{', '.join(_ROLLUP_COLUMNS)} FROM stage_rollups WHERE level = %s "
            "ON CONFLICT (part, tag_id, bucket) DO UPDATE SET count = r.count + excluded.count, "
            "sum = r.sum + excluded.sum, min = LEAST(r.min, excluded.min), "
            "max = GREATEST(r.max, excluded.max), "
            "first_value = CASE WHEN excluded.first_ts < r.first_ts THEN excluded.first_value "
            "ELSE r.first_value END, first_ts = LEAST(r.first_ts, excluded.first_ts), "
            "last_value = CASE WHEN excluded.last_ts >= r.last_ts THEN excluded.last_value "
            "ELSE r.last_value END, last_ts = GREATEST(r.last_ts, excluded.last_ts)", (level,))
    pg.execute("DELETE FROM stage_rollups")
