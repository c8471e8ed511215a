"""PostgreSQL historian: the same block layout as SQLite in a table partitioned by day on
the block's first timestamp, written with binary COPY; rollups merged from a staging table."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, suppress
from functools import lru_cache
from typing import Any

import numpy as np
import psycopg

from isthmus.historian import query
from isthmus.historian.blockstore import ROLLUP_COLUMNS, ROLLUP_TABLES, BlockStore
from isthmus.historian.codec import Block
from isthmus.historian.errors import HistorianError, HistorianUnavailable
from isthmus.historian.pgcopy import (
    blocks_copy_buffer,
    fixed_copy_buffer,
    leaf_blocks_copy_buffer,
)
from isthmus.historian.query import ROLLUP_PART_SPAN
from isthmus.historian.stats import BucketStats

__all__ = ["DAY_NS", "PostgresHistorian"]

DAY_NS = 24 * query.HOUR_NS
_ROLLUP_TYPES = ("int4", "int8", "int8", "float8", "float8", "float8", "int8", "float8",
                 "int8", "float8")

PgConnection = psycopg.Connection[tuple[Any, ...]]


def _schema_sql() -> list[str]:
    rollups = [f"""CREATE TABLE IF NOT EXISTS {t} (
  part bigint NOT NULL, tag_id integer NOT NULL, bucket bigint NOT NULL,
  count bigint NOT NULL, sum float8 NOT NULL,
  min float8 NOT NULL, max float8 NOT NULL, first_ts bigint NOT NULL,
  first_value float8 NOT NULL, last_ts bigint NOT NULL, last_value float8 NOT NULL,
  PRIMARY KEY (part, tag_id, bucket))""" for t in ROLLUP_TABLES.values()]
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
        "ALTER TABLE blocks ADD COLUMN IF NOT EXISTS leaf bigint",
        "CREATE INDEX IF NOT EXISTS blocks_by_leaf ON blocks (leaf) WHERE leaf IS NOT NULL",
        """CREATE TABLE IF NOT EXISTS ledger_leaves (
  idx bigint PRIMARY KEY, leaf_hash bytea NOT NULL, gateway_id text NOT NULL,
  source text NOT NULL, seq bigint NOT NULL, signature bytea NOT NULL, n integer NOT NULL,
  min_ts bigint NOT NULL, max_ts bigint NOT NULL, manifest bytea NOT NULL)""",
        "ALTER TABLE ledger_leaves ADD COLUMN IF NOT EXISTS tx bigint",
        """CREATE TABLE IF NOT EXISTS ledger_checkpoints (
  size bigint NOT NULL, stored_ns bigint NOT NULL, note text NOT NULL)""",
        """CREATE TABLE IF NOT EXISTS ledger_retention (
  cutoff_ns bigint NOT NULL, applied_ns bigint NOT NULL)""",
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


@lru_cache(maxsize=256)
def _pg_placeholders(sql: str) -> str:
    return sql.replace("?", "%s")


class PgStatements:
    """A psycopg connection taking the shared `?` placeholders (no statement of the historian
    uses PostgreSQL's `?` jsonb operator, nor a literal `%`)."""

    __slots__ = ("conn",)

    def __init__(self, conn: PgConnection) -> None:
        self.conn = conn

    def execute(self, sql: str, params: Sequence[Any] = (), /) -> psycopg.Cursor[tuple[Any, ...]]:
        return self.conn.execute(_pg_placeholders(sql), params or None)

    def executemany(self, sql: str, params: Iterable[Sequence[Any]], /) -> None:
        with self.conn.cursor() as cur:
            cur.executemany(_pg_placeholders(sql), params)


class PostgresHistorian(BlockStore[PgStatements]):
    """Thread-safe (one lock, one connection) PostgreSQL historian in schema `schema`.
    A lost connection raises HistorianUnavailable; the next call reconnects."""

    def __init__(self, conninfo: str, *, schema: str = "isthmus") -> None:
        super().__init__(f"postgresql historian (schema {schema})")
        self._conninfo = conninfo
        self._schema = schema
        self._pg: PgConnection | None = None
        self._partitions: set[int] = set()
        with self._session("create schema") as db:
            self._create_schema(db)

    # --- connection -------------------------------------------------------------------------
    def _connect(self) -> PgConnection:
        if self._pg is None or self._pg.closed:
            self._pg = psycopg.connect(self._conninfo, autocommit=True, connect_timeout=5)
            ident = psycopg.sql.Identifier(self._schema)
            self._pg.execute(psycopg.sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(ident))
            self._pg.execute(psycopg.sql.SQL("SET search_path TO {}").format(ident))
        return self._pg

    @contextmanager
    def _session(self, action: str) -> Iterator[PgStatements]:
        with self._lock:
            try:
                yield PgStatements(self._connect())
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

    def _create_schema(self, db: PgStatements) -> None:
        with db.conn.transaction():
            db.execute("SELECT pg_advisory_xact_lock(hashtext(?))", (self._schema,))
            for statement in _schema_sql():
                db.execute(statement)
        rows = db.execute("SELECT c.relname FROM pg_inherits i JOIN pg_class c ON "
                          "c.oid = i.inhrelid WHERE i.inhparent = 'blocks'::regclass").fetchall()
        for (name,) in rows:
            digits = str(name).removeprefix("blocks_d")
            self._partitions.add(-int(digits[1:]) if digits.startswith("m") else int(digits))

    def _ensure_partitions(self, db: PgStatements, blocks: Sequence[Block]) -> None:
        days = {b.min_ts // DAY_NS for b in blocks} - self._partitions
        for day in sorted(days):
            with db.conn.transaction():
                db.execute("SELECT pg_advisory_xact_lock(hashtext(?))", (self._schema,))
                db.execute(f"CREATE TABLE IF NOT EXISTS {_partition_name(day)} PARTITION OF "
                           f"blocks FOR VALUES FROM ({day * DAY_NS}) TO ({(day + 1) * DAY_NS})")
            self._partitions.add(day)

    # --- primitives -------------------------------------------------------------------------
    def _reading(self, action: str) -> AbstractContextManager[PgStatements]:
        return self._session(action)

    @contextmanager
    def _transaction(self, action: str, *,
                     room_for: Sequence[Block] = ()) -> Iterator[PgStatements]:
        with self._session(action) as db:
            self._ensure_partitions(db, room_for)  # outside the write: DDL locks the parent
            with db.conn.transaction():
                yield db

    def _lock_tags(self, db: PgStatements) -> None:
        db.execute("LOCK TABLE tags IN EXCLUSIVE MODE")

    def _advance_mark(self, db: PgStatements, stream: str, seq: int) -> bool:
        row = db.execute("INSERT INTO ingest_marks VALUES (?, 0) ON CONFLICT (stream) DO UPDATE "
                         "SET seq = ingest_marks.seq RETURNING seq", (stream,)).fetchone()
        if row is not None and int(row[0]) >= seq:
            return False
        db.execute("UPDATE ingest_marks SET seq = ? WHERE stream = ?", (seq, stream))
        return True

    def _insert_blocks(self, db: PgStatements, blocks: Sequence[Block]) -> None:
        if not blocks:
            return
        with db.conn.cursor() as cur, cur.copy("COPY blocks (tag_id, min_ts, max_ts, n, "
                                               "payload) FROM STDIN (FORMAT BINARY)") as copy:
            copy.write(blocks_copy_buffer(blocks))

    def _insert_leaf_blocks(self, db: PgStatements, blocks: Sequence[Block]) -> None:
        if not blocks:
            return
        with db.conn.cursor() as cur, cur.copy("COPY blocks (tag_id, min_ts, max_ts, n, "
                                               "payload, leaf) FROM STDIN (FORMAT BINARY)") as copy:
            copy.write(leaf_blocks_copy_buffer(blocks))

    def _upsert_rollups(self, db: PgStatements, rollups: dict[int, BucketStats]) -> None:
        """COPY every level's rows into one per-session staging table, then merge each level
        with one upsert (measured: 4x faster than sending Python lists as arrays to unnest)."""
        rollups = {level: stats for level, stats in rollups.items() if len(stats)}
        if not rollups:
            return
        db.execute("CREATE TEMP TABLE IF NOT EXISTS stage_rollups (level bigint NOT NULL, "
                   "LIKE rollup_1m) ON COMMIT DELETE ROWS")
        levels = np.concatenate([np.full(len(st), lv, np.int64) for lv, st in rollups.items()])
        parts = np.concatenate([st.bucket // ROLLUP_PART_SPAN[lv] for lv, st in rollups.items()])
        columns = [np.concatenate(c) for c in zip(*(st.columns() for st in rollups.values()),
                                                  strict=True)]
        with db.conn.cursor() as cur, cur.copy("COPY stage_rollups FROM STDIN "
                                               "(FORMAT BINARY)") as copy:
            copy.write(fixed_copy_buffer([levels, parts, *columns],
                                         ("int8", "int8", *_ROLLUP_TYPES)))
        for level in rollups:
            db.execute(
                f"INSERT INTO {ROLLUP_TABLES[level]} AS r SELECT part, "
                f"{', '.join(ROLLUP_COLUMNS)} FROM stage_rollups WHERE level = ? "
                "ON CONFLICT (part, tag_id, bucket) DO UPDATE SET "
                "count = r.count + excluded.count, "
                "sum = r.sum + excluded.sum, min = LEAST(r.min, excluded.min), "
                "max = GREATEST(r.max, excluded.max), "
                "first_value = CASE WHEN excluded.first_ts < r.first_ts THEN excluded.first_value "
                "ELSE r.first_value END, first_ts = LEAST(r.first_ts, excluded.first_ts), "
                "last_value = CASE WHEN excluded.last_ts >= r.last_ts THEN excluded.last_value "
                "ELSE r.last_value END, last_ts = GREATEST(r.last_ts, excluded.last_ts)", (level,))
        db.execute("DELETE FROM stage_rollups")

    def _rollup_rows(self, level_ns: int, tag_id: int, start_ns: int,
                     end_ns: int) -> list[tuple[Any, ...]]:
        span = ROLLUP_PART_SPAN[level_ns]
        parts = list(range(start_ns // span, (end_ns - 1) // span + 1))
        return self._fetch(
            "read rollups",
            f"SELECT {', '.join(ROLLUP_COLUMNS)} FROM {ROLLUP_TABLES[level_ns]} "
            "WHERE part = ANY(?) AND tag_id = ? AND bucket >= ? AND bucket < ? ORDER BY bucket",
            (parts, tag_id, start_ns, end_ns))

    def _delete_expired_blocks(self, db: PgStatements, cutoff_ns: int,
                               straddling: Sequence[int]) -> int:
        row = db.execute("WITH gone AS (DELETE FROM blocks WHERE max_ts < ? RETURNING n) "
                         "SELECT coalesce(sum(n), 0) FROM gone", (cutoff_ns,)).fetchone()
        db.execute("DELETE FROM blocks WHERE id = ANY(?)", (list(straddling),))
        return 0 if row is None else int(row[0])

    def _drop_expired_storage(self, cutoff_ns: int) -> int:
        """Drop whole day partitions whose every block ends before the cutoff."""
        removed = 0
        for day in sorted(d for d in self._partitions if (d + 1) * DAY_NS <= cutoff_ns):
            name = _partition_name(day)
            with self._session("drop old partition") as db, db.conn.transaction():
                row = db.execute(f"SELECT max(max_ts), coalesce(sum(n), 0) FROM {name}").fetchone()
                if row is None or (row[0] is not None and row[0] >= cutoff_ns):
                    continue
                removed += int(row[1])
                db.execute(f"DROP TABLE {name}")
            self._partitions.discard(day)
        return removed

    def close(self) -> None:
        with self._lock:
            self._drop_connection()
