"""SQLite historian: the embedded default. One row per (tag, written block), rollups per
minute and hour, WAL journal. See docs/historian.md for the layout and its reasons."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from isthmus.historian.blockstore import ROLLUP_COLUMNS, ROLLUP_TABLES, BlockStore
from isthmus.historian.codec import Block
from isthmus.historian.errors import HistorianError, HistorianUnavailable
from isthmus.historian.query import ROLLUP_PART_SPAN
from isthmus.historian.stats import BucketStats

__all__ = ["SQLiteHistorian"]

#: OperationalError messages that mean "try again later" rather than a bug in a statement.
_UNAVAILABLE = ("locked", "busy", "unable to open", "disk I/O", "database or disk is full",
                "readonly")


def _schema() -> str:
    rollups = "".join(f"""
CREATE TABLE IF NOT EXISTS {table} (
  part INTEGER NOT NULL, tag_id INTEGER NOT NULL, bucket INTEGER NOT NULL,
  count INTEGER NOT NULL, sum REAL NOT NULL,
  min REAL NOT NULL, max REAL NOT NULL, first_ts INTEGER NOT NULL, first_value REAL NOT NULL,
  last_ts INTEGER NOT NULL, last_value REAL NOT NULL, PRIMARY KEY (part, tag_id, bucket)
) WITHOUT ROWID;""" for table in ROLLUP_TABLES.values())
    return f"""
CREATE TABLE IF NOT EXISTS tags (
  id INTEGER PRIMARY KEY, path TEXT NOT NULL UNIQUE, unit TEXT NOT NULL, data_type TEXT NOT NULL,
  low REAL, high REAL, deadband REAL NOT NULL, scan_rate_s REAL NOT NULL,
  description TEXT NOT NULL, source TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS blocks (
  id INTEGER PRIMARY KEY, tag_id INTEGER NOT NULL, min_ts INTEGER NOT NULL,
  max_ts INTEGER NOT NULL, n INTEGER NOT NULL, payload BLOB NOT NULL, leaf INTEGER);
CREATE INDEX IF NOT EXISTS blocks_by_tag ON blocks (tag_id, max_ts, min_ts);
CREATE INDEX IF NOT EXISTS blocks_by_min_ts ON blocks (min_ts);
CREATE TABLE IF NOT EXISTS ingest_marks (stream TEXT PRIMARY KEY, seq INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS events (
  id INTEGER PRIMARY KEY, ts INTEGER NOT NULL, kind TEXT NOT NULL, severity INTEGER NOT NULL,
  message TEXT NOT NULL, source TEXT NOT NULL, asset TEXT, tag TEXT, techniques TEXT NOT NULL,
  data TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS events_by_ts ON events (ts);
CREATE INDEX IF NOT EXISTS events_by_kind ON events (kind, ts);
CREATE TABLE IF NOT EXISTS ledger_leaves (
  idx INTEGER PRIMARY KEY, leaf_hash BLOB NOT NULL, gateway_id TEXT NOT NULL,
  source TEXT NOT NULL, seq INTEGER NOT NULL, signature BLOB NOT NULL, n INTEGER NOT NULL,
  min_ts INTEGER NOT NULL, max_ts INTEGER NOT NULL, manifest BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS ledger_checkpoints (
  size INTEGER NOT NULL, stored_ns INTEGER NOT NULL, note TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS ledger_retention (
  cutoff_ns INTEGER NOT NULL, applied_ns INTEGER NOT NULL);
{rollups}
"""


class SQLiteHistorian(BlockStore[sqlite3.Connection]):
    """Thread-safe (one lock) SQLite historian. `synchronous` is "full" (default: a commit is
    on disk when write returns, even across power loss) or "normal" (survives a process kill,
    may lose the last commits on power loss)."""

    def __init__(self, path: str, *, synchronous: str = "full") -> None:
        if synchronous not in ("full", "normal"):
            raise HistorianError(f"sqlite historian {path}: synchronous={synchronous!r} must be "
                                 "'full' or 'normal'")
        super().__init__(f"sqlite historian {path}")
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        with self._mapped("open"):
            self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False,
                                       timeout=10.0)
            # Measured: a 64 MiB page cache and checkpoints every 10,000 pages (40 MiB of WAL)
            # instead of 1,000 lift ingest from ~0.8 to ~1.1 M samples/s: index and rollup pages
            # rewritten by consecutive batches are then copied to the main file once.
            self._db.execute("PRAGMA page_size=16384")
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA cache_size=-65536")
            self._db.execute("PRAGMA wal_autocheckpoint=10000")
            self._db.execute(f"PRAGMA synchronous={synchronous.upper()}")
            self._db.executescript(_schema())
            columns = {r[1] for r in self._db.execute("PRAGMA table_info(blocks)")}
            if "leaf" not in columns:  # a historian created before the ledger existed
                self._db.execute("ALTER TABLE blocks ADD COLUMN leaf INTEGER")
            self._db.execute("CREATE INDEX IF NOT EXISTS blocks_by_leaf ON blocks (leaf) "
                             "WHERE leaf IS NOT NULL")
            leaf_columns = {r[1] for r in self._db.execute("PRAGMA table_info(ledger_leaves)")}
            if "tx" not in leaf_columns:  # first leaf of the transaction holding its blocks
                self._db.execute("ALTER TABLE ledger_leaves ADD COLUMN tx INTEGER")

    # --- primitives -------------------------------------------------------------------------
    @contextmanager
    def _mapped(self, action: str) -> Iterator[None]:
        try:
            yield
        except sqlite3.OperationalError as exc:
            if any(sign in str(exc) for sign in _UNAVAILABLE):
                raise HistorianUnavailable(f"{self._where}: {action}: {exc}") from exc
            raise HistorianError(f"{self._where}: {action}: {exc}") from exc
        except sqlite3.Error as exc:
            raise HistorianError(f"{self._where}: {action}: {exc}") from exc

    @contextmanager
    def _reading(self, action: str) -> Iterator[sqlite3.Connection]:
        with self._lock, self._mapped(action):
            yield self._db

    @contextmanager
    def _transaction(self, action: str, *,
                     room_for: Sequence[Block] = ()) -> Iterator[sqlite3.Connection]:
        with self._lock, self._mapped(action):
            self._db.execute("BEGIN IMMEDIATE")  # takes the write lock: tag ids need no more
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _advance_mark(self, db: sqlite3.Connection, stream: str, seq: int) -> bool:
        row = db.execute("SELECT seq FROM ingest_marks WHERE stream = ?", (stream,)).fetchone()
        if row is not None and row[0] >= seq:
            return False
        db.execute("INSERT INTO ingest_marks VALUES (?, ?) ON CONFLICT (stream) "
                   "DO UPDATE SET seq = excluded.seq", (stream, seq))
        return True

    def _insert_blocks(self, db: sqlite3.Connection, blocks: Sequence[Block]) -> None:
        db.executemany("INSERT INTO blocks (tag_id, min_ts, max_ts, n, payload) "
                       "VALUES (?, ?, ?, ?, ?)",
                       [(b.tag_id, b.min_ts, b.max_ts, b.n, b.payload) for b in blocks])

    def _insert_leaf_blocks(self, db: sqlite3.Connection, blocks: Sequence[Block]) -> None:
        db.executemany("INSERT INTO blocks (tag_id, min_ts, max_ts, n, payload, leaf) "
                       "VALUES (?, ?, ?, ?, ?, ?)",
                       [(b.tag_id, b.min_ts, b.max_ts, b.n, b.payload, b.leaf) for b in blocks])

    def _upsert_rollups(self, db: sqlite3.Connection, rollups: dict[int, BucketStats]) -> None:
        for level, stats in rollups.items():
            if len(stats) == 0:
                continue
            parts = (stats.bucket // ROLLUP_PART_SPAN[level]).tolist()
            db.executemany(
                f"INSERT INTO {ROLLUP_TABLES[level]} (part, {', '.join(ROLLUP_COLUMNS)}) "
                f"VALUES (?{', ?' * 10}) ON CONFLICT (part, tag_id, bucket) DO UPDATE SET "
                "count = count + excluded.count, sum = sum + excluded.sum, "
                "min = min(min, excluded.min), max = max(max, excluded.max), "
                "first_value = CASE WHEN excluded.first_ts < first_ts THEN excluded.first_value "
                "ELSE first_value END, first_ts = min(first_ts, excluded.first_ts), "
                "last_value = CASE WHEN excluded.last_ts >= last_ts THEN excluded.last_value "
                "ELSE last_value END, last_ts = max(last_ts, excluded.last_ts)",
                zip(parts, *(c.tolist() for c in stats.columns()), strict=True))

    def _rollup_rows(self, level_ns: int, tag_id: int, start_ns: int,
                     end_ns: int) -> list[tuple[Any, ...]]:
        span = ROLLUP_PART_SPAN[level_ns]
        return self._fetch(
            "read rollups",
            "WITH RECURSIVE parts(p) AS (SELECT ? UNION ALL SELECT p + 1 FROM parts "
            f"WHERE p < ?) SELECT {', '.join(ROLLUP_COLUMNS)} FROM parts JOIN "
            f"{ROLLUP_TABLES[level_ns]} ON part = p "
            "WHERE tag_id = ? AND bucket >= ? AND bucket < ? ORDER BY bucket",
            (start_ns // span, (end_ns - 1) // span, tag_id, start_ns, end_ns))

    def _delete_expired_blocks(self, db: sqlite3.Connection, cutoff_ns: int,
                               straddling: Sequence[int]) -> int:
        removed = db.execute("SELECT coalesce(sum(n), 0) FROM blocks WHERE max_ts < ?",
                             (cutoff_ns,)).fetchone()[0]
        db.execute("DELETE FROM blocks WHERE max_ts < ?", (cutoff_ns,))
        db.executemany("DELETE FROM blocks WHERE id = ?", [(i,) for i in straddling])
        return int(removed)

    def close(self) -> None:
        with self._lock:
            self._db.close()
