"""SQLite historian: the embedded default. One row per (tag, written block), rollups per
minute and hour, WAL journal. See docs/historian.md for the layout and its reasons."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from isthmus.historian import query
from isthmus.historian.api import Aggregate
from isthmus.historian.codec import Block, decode_blocks, encode_blocks, sort_by_tag_and_time
from isthmus.historian.errors import HistorianError, HistorianUnavailable
from isthmus.historian.query import ROLLUP_LEVELS, ROLLUP_PART_SPAN, BlockRow
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

__all__ = ["SQLiteHistorian"]

#: OperationalError messages that mean "try again later" rather than a bug in a statement.
_UNAVAILABLE = ("locked", "busy", "unable to open", "disk I/O", "database or disk is full",
                "readonly")

_ROLLUP_COLUMNS = ("tag_id", "bucket", "count", "sum", "min", "max", "first_ts",
                   "first_value", "last_ts", "last_value")


def _rollup_table(level_ns: int) -> str:
    return {query.MINUTE_NS: "rollup_1m", query.HOUR_NS: "rollup_1h"}[level_ns]



def _schema() -> str:
    rollups = "".join(f"""
CREATE TABLE IF NOT EXISTS {_rollup_table(lv)} (
  part INTEGER NOT NULL, tag_id INTEGER NOT NULL, bucket INTEGER NOT NULL,
  count INTEGER NOT NULL, sum REAL NOT NULL,
  min REAL NOT NULL, max REAL NOT NULL, first_ts INTEGER NOT NULL, first_value REAL NOT NULL,
  last_ts INTEGER NOT NULL, last_value REAL NOT NULL, PRIMARY KEY (part, tag_id, bucket)
) WITHOUT ROWID;""" for lv in ROLLUP_LEVELS)
    return f"""
CREATE TABLE IF NOT EXISTS tags (
  id INTEGER PRIMARY KEY, path TEXT NOT NULL UNIQUE, unit TEXT NOT NULL, data_type TEXT NOT NULL,
  low REAL, high REAL, deadband REAL NOT NULL, scan_rate_s REAL NOT NULL,
  description TEXT NOT NULL, source TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS blocks (
  id INTEGER PRIMARY KEY, tag_id INTEGER NOT NULL, min_ts INTEGER NOT NULL,
  max_ts INTEGER NOT NULL, n INTEGER NOT NULL, payload BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS blocks_by_tag ON blocks (tag_id, max_ts, min_ts);
CREATE INDEX IF NOT EXISTS blocks_by_min_ts ON blocks (min_ts);
CREATE TABLE IF NOT EXISTS ingest_marks (stream TEXT PRIMARY KEY, seq INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS events (
  id INTEGER PRIMARY KEY, ts INTEGER NOT NULL, kind TEXT NOT NULL, severity INTEGER NOT NULL,
  message TEXT NOT NULL, source TEXT NOT NULL, asset TEXT, tag TEXT, techniques TEXT NOT NULL,
  data TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS events_by_ts ON events (ts);
CREATE INDEX IF NOT EXISTS events_by_kind ON events (kind, ts);
{rollups}
"""


class SQLiteHistorian:
    """Thread-safe (one lock) SQLite historian. `synchronous` is "full" (default: a commit is
    on disk when write returns, even across power loss) or "normal" (survives a process kill,
    may lose the last commits on power loss)."""

    def __init__(self, path: str, *, synchronous: str = "full") -> None:
        if synchronous not in ("full", "normal"):
            raise HistorianError(f"sqlite historian {path}: synchronous={synchronous!r} must be "
                                 "'full' or 'normal'")
        self._where = f"sqlite historian {path}"
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._known_ids: set[int] = set()
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
    def _transaction(self, action: str) -> Iterator[sqlite3.Connection]:
        with self._lock, self._mapped(action):
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    # --- tags -------------------------------------------------------------------------------
    def register_tags(self, tags: Sequence[Tag]) -> TagRegistry:
        cols = ", ".join(TAG_COLUMNS)
        sets = ", ".join(f"{c} = ?" for c in TAG_COLUMNS[1:])
        with self._transaction("register tags") as db:
            known = dict(db.execute("SELECT path, id FROM tags").fetchall())
            next_id = max(known.values(), default=0) + 1
            for tag in tags:
                row = tag_to_row(tag)
                if tag.path in known:
                    db.execute(f"UPDATE tags SET {sets} WHERE id = ?", (*row[1:], known[tag.path]))
                    continue
                db.execute(f"INSERT INTO tags (id, {cols}) VALUES (?{', ?' * len(row)})",
                           (next_id, *row))
                known[tag.path] = next_id
                next_id += 1
        return self.registry()

    def registry(self) -> TagRegistry:
        with self._lock, self._mapped("read tags"):
            rows = self._db.execute(f"SELECT id, {', '.join(TAG_COLUMNS)} FROM tags").fetchall()
        registry = TagRegistry((r[0], row_to_tag(r[1:])) for r in rows)
        self._known_ids = {r[0] for r in rows}
        return registry

    def _tag_id(self, path: str) -> int:
        with self._lock, self._mapped("read tags"):
            row = self._db.execute("SELECT id FROM tags WHERE path = ?", (path,)).fetchone()
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
        with self._lock, self._mapped("read high-water mark"):
            row = self._db.execute("SELECT seq FROM ingest_marks WHERE stream = ?",
                                   (stream,)).fetchone()
        return 0 if row is None else int(row[0])

    def _write(self, batch: SampleBatch, mark: tuple[str, int] | None) -> bool:
        ordered = sort_by_tag_and_time(batch)
        self._check_known(ordered.tag_ids)
        blocks = encode_blocks(ordered)
        rollups = query.rollups_of(ordered.batch)
        with self._transaction("write samples") as db:
            if mark is not None:
                row = db.execute("SELECT seq FROM ingest_marks WHERE stream = ?",
                                 (mark[0],)).fetchone()
                if row is not None and row[0] >= mark[1]:
                    return False
                db.execute("INSERT INTO ingest_marks VALUES (?, ?) ON CONFLICT (stream) "
                           "DO UPDATE SET seq = excluded.seq", mark)
            self._insert_blocks(db, blocks)
            for level, stats in rollups.items():
                _upsert_rollups(db, level, stats)
        return True

    @staticmethod
    def _insert_blocks(db: sqlite3.Connection, blocks: Sequence[Block]) -> None:
        db.executemany("INSERT INTO blocks (tag_id, min_ts, max_ts, n, payload) "
                       "VALUES (?, ?, ?, ?, ?)",
                       [(b.tag_id, b.min_ts, b.max_ts, b.n, b.payload) for b in blocks])

    # --- reads ------------------------------------------------------------------------------
    def select_blocks(self, tag_ids: Sequence[int] | None, start_ns: int,
                      end_ns: int) -> list[BlockRow]:
        sql = "SELECT tag_id, min_ts, n, payload FROM blocks WHERE max_ts >= ? AND min_ts < ?"
        with self._lock, self._mapped("read blocks"):
            if tag_ids is None:
                return self._db.execute(sql + " ORDER BY id", (start_ns, end_ns)).fetchall()
            marks = ", ".join("?" * len(tag_ids))
            return self._db.execute(sql + f" AND tag_id IN ({marks}) ORDER BY id",
                                    (start_ns, end_ns, *tag_ids)).fetchall()

    def select_rollups(self, level_ns: int, tag_id: int, start_ns: int,
                       end_ns: int) -> BucketStats:
        span = ROLLUP_PART_SPAN[level_ns]
        with self._lock, self._mapped("read rollups"):
            rows = self._db.execute(
                "WITH RECURSIVE parts(p) AS (SELECT ? UNION ALL SELECT p + 1 FROM parts "
                f"WHERE p < ?) SELECT {', '.join(_ROLLUP_COLUMNS)} FROM parts JOIN "
                f"{_rollup_table(level_ns)} ON part = p "
                "WHERE tag_id = ? AND bucket >= ? AND bucket < ? ORDER BY bucket",
                (start_ns // span, (end_ns - 1) // span, tag_id, start_ns, end_ns)).fetchall()
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
            with self._lock, self._mapped("read latest"):
                rows = self._db.execute(
                    "SELECT tag_id, min_ts, n, payload FROM blocks WHERE tag_id = ? AND max_ts = "
                    "(SELECT max(max_ts) FROM blocks WHERE tag_id = ?) ORDER BY id",
                    (tag_id, tag_id)).fetchall()
            if rows:
                everything = decode_blocks(rows, -(2**63), 2**63 - 1)
                found.append(everything.take(np.array([len(everything) - 1])))
        return SampleBatch.concat(found)

    def sample_count(self) -> int:
        with self._lock, self._mapped("count samples"):
            return int(self._db.execute("SELECT coalesce(sum(n), 0) FROM blocks").fetchone()[0])

    # --- retention --------------------------------------------------------------------------
    def apply_retention(self, older_than_ns: int) -> int:
        cutoff = older_than_ns
        straddling = self._straddling_blocks(cutoff)
        removed_partial, remainder = query.trim_blocks([r[1:] for r in straddling], cutoff)
        with self._transaction("apply retention") as db:
            removed = db.execute("SELECT coalesce(sum(n), 0) FROM blocks WHERE max_ts < ?",
                                 (cutoff,)).fetchone()[0]
            db.execute("DELETE FROM blocks WHERE max_ts < ?", (cutoff,))
            db.executemany("DELETE FROM blocks WHERE id = ?", [(r[0],) for r in straddling])
            self._insert_blocks(db, remainder)
        fresh = query.straddling_rollups(self, cutoff)
        with self._transaction("apply retention to rollups") as db:
            for level, stats in fresh.items():
                db.execute(f"DELETE FROM {_rollup_table(level)} WHERE part <= ? AND bucket < ?",
                           (cutoff // ROLLUP_PART_SPAN[level], cutoff))
                _upsert_rollups(db, level, stats)
        return int(removed) + removed_partial

    def _straddling_blocks(self, cutoff: int) -> list[tuple[int, int, int, int, bytes]]:
        with self._lock, self._mapped("read blocks for retention"):
            return self._db.execute(
                "SELECT id, tag_id, min_ts, n, payload FROM blocks "
                "WHERE min_ts < ? AND max_ts >= ? ORDER BY id", (cutoff, cutoff)).fetchall()

    # --- events -----------------------------------------------------------------------------
    def write_events(self, events: Sequence[Event]) -> None:
        marks = ", ".join("?" * len(EVENT_COLUMNS))
        with self._transaction("write events") as db:
            db.executemany(f"INSERT INTO events ({', '.join(EVENT_COLUMNS)}) VALUES ({marks})",
                           [event_to_row(e) for e in events])

    def events(self, start_ns: int, end_ns: int, *, kind: str | None = None,
               limit: int = 1000) -> list[Event]:
        sql = f"SELECT {', '.join(EVENT_COLUMNS)} FROM events WHERE ts >= ? AND ts < ?"
        args: tuple[object, ...] = (start_ns, end_ns)
        if kind is not None:
            sql, args = sql + " AND kind = ?", (*args, kind)
        with self._lock, self._mapped("read events"):
            rows = self._db.execute(sql + " ORDER BY ts, id LIMIT ?", (*args, limit)).fetchall()
        return [row_to_event(r) for r in rows]

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _upsert_rollups(db: sqlite3.Connection, level_ns: int, stats: BucketStats) -> None:
    if len(stats) == 0:
        return
    parts = (stats.bucket // ROLLUP_PART_SPAN[level_ns]).tolist()
    db.executemany(
        f"INSERT INTO {_rollup_table(level_ns)} (part, {', '.join(_ROLLUP_COLUMNS)}) "
        f"VALUES (?{', ?' * 10}) ON CONFLICT (part, tag_id, bucket) DO UPDATE SET "
        "count = count + excluded.count, "
        "sum = sum + excluded.sum, min = min(min, excluded.min), max = max(max, excluded.max), "
        "first_value = CASE WHEN excluded.first_ts < first_ts THEN excluded.first_value "
        "ELSE first_value END, first_ts = min(first_ts, excluded.first_ts), "
        "last_value = CASE WHEN excluded.last_ts >= last_ts THEN excluded.last_value "
        "ELSE last_value END, last_ts = max(last_ts, excluded.last_ts)",
        zip(parts, *(c.tolist() for c in stats.columns()), strict=True))
