"""What every historian backend does the same way over its tables: known-tag checks, batch
preparation (sort, encode, rollups), raw/aggregate/latest reads over blocks, retention and
events. A backend subclasses `BlockStore` and supplies only its SQL and transaction primitives.

Shared statements use `?` placeholders; a backend whose driver wants another style
translates them in its `Statements` implementation.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import replace
from typing import Any, Generic, Protocol, TypeVar

import numpy as np

from isthmus.historian import query
from isthmus.historian.api import Aggregate
from isthmus.historian.codec import Block, decode_blocks, encode_blocks, sort_by_tag_and_time
from isthmus.historian.ledger import (
    LEAF_COLUMNS,
    Checkpointed,
    LeafEntry,
    LeafRow,
    plan_leaves,
)
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
from isthmus.model import Event, SampleBatch, Tag, TagRegistry, UnknownTagError, now_ns

__all__ = ["ROLLUP_COLUMNS", "ROLLUP_TABLES", "BlockStore", "Statements"]

#: Rollup table per level, and its columns after the `part` clustering key.
ROLLUP_TABLES: dict[int, str] = {query.MINUTE_NS: "rollup_1m", query.HOUR_NS: "rollup_1h"}
ROLLUP_COLUMNS = ("tag_id", "bucket", "count", "sum", "min", "max", "first_ts",
                  "first_value", "last_ts", "last_value")


class Rows(Protocol):
    def fetchone(self) -> Any: ...
    def fetchall(self) -> list[Any]: ...


class Statements(Protocol):
    """The slice of a DB-API connection the shared code uses (`?` placeholders)."""

    def execute(self, sql: str, params: Sequence[Any] = ..., /) -> Rows: ...
    def executemany(self, sql: str, params: Iterable[Sequence[Any]], /) -> object: ...


DB = TypeVar("DB", bound=Statements)


class BlockStore(ABC, Generic[DB]):
    """The backend-independent half of a historian; thread-safe through `_lock`, which the
    backend's `_reading` and `_transaction` hold."""

    def __init__(self, where: str) -> None:
        self._where = where
        self._lock = threading.Lock()
        self._known_ids: set[int] = set()

    # --- primitives a backend supplies -------------------------------------------------------
    @abstractmethod
    def _reading(self, action: str) -> AbstractContextManager[DB]:
        """Hold the lock and map driver errors (naming `action`) while reading."""

    @abstractmethod
    def _transaction(self, action: str, *,
                     room_for: Sequence[Block] = ()) -> AbstractContextManager[DB]:
        """Hold the lock, map driver errors and run one write transaction in which the
        `room_for` blocks can be inserted."""

    @abstractmethod
    def _advance_mark(self, db: DB, stream: str, seq: int) -> bool:
        """Move the stream's high-water mark to seq inside `db`'s transaction; False if the
        batch was already applied."""

    @abstractmethod
    def _insert_blocks(self, db: DB, blocks: Sequence[Block]) -> None: ...

    @abstractmethod
    def _insert_leaf_blocks(self, db: DB, blocks: Sequence[Block]) -> None:
        """Insert blocks that carry a ledger leaf index (the `leaf` column)."""

    def _store_blocks(self, db: DB, blocks: Sequence[Block]) -> None:
        plain = [b for b in blocks if b.leaf is None]
        if len(plain) < len(blocks):
            self._insert_leaf_blocks(db, [b for b in blocks if b.leaf is not None])
        if plain:
            self._insert_blocks(db, plain)

    @abstractmethod
    def _upsert_rollups(self, db: DB, rollups: dict[int, BucketStats]) -> None:
        """Merge per-level rollup rows into the stored ones (count/sum add, min/max, and
        first/last by timestamp)."""

    @abstractmethod
    def _rollup_rows(self, level_ns: int, tag_id: int, start_ns: int,
                     end_ns: int) -> list[tuple[Any, ...]]:
        """ROLLUP_COLUMNS rows of one tag with start <= bucket < end, ordered by bucket."""

    @abstractmethod
    def _delete_expired_blocks(self, db: DB, cutoff_ns: int, straddling: Sequence[int]) -> int:
        """Delete blocks that end before the cutoff and the `straddling` block ids; return
        the samples the former held."""

    def _drop_expired_storage(self, cutoff_ns: int) -> int:
        """Drop whole storage units older than the cutoff; samples removed (none here)."""
        return 0

    def _lock_tags(self, db: DB) -> None:
        """Keep concurrent writers from numbering tags while `db`'s transaction runs."""

    def _fetch(self, action: str, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        with self._reading(action) as db:
            return db.execute(sql, params).fetchall()

    # --- tags -------------------------------------------------------------------------------
    def register_tags(self, tags: Sequence[Tag]) -> TagRegistry:
        cols = ", ".join(TAG_COLUMNS)
        sets = ", ".join(f"{c} = ?" for c in TAG_COLUMNS[1:])
        with self._transaction("register tags") as db:
            self._lock_tags(db)
            known = {str(p): int(i) for p, i in db.execute("SELECT path, id FROM tags").fetchall()}
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
        rows = self._fetch("read tags", f"SELECT id, {', '.join(TAG_COLUMNS)} FROM tags")
        registry = TagRegistry((int(r[0]), row_to_tag(r[1:])) for r in rows)
        self._known_ids = {int(r[0]) for r in rows}
        return registry

    def _tag_id(self, path: str) -> int:
        rows = self._fetch("read tags", "SELECT id FROM tags WHERE path = ?", (path,))
        if not rows:
            raise UnknownTagError(f"{self._where}: unknown tag {path!r}")
        return int(rows[0][0])

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
        rows = self._fetch("read high-water mark",
                           "SELECT seq FROM ingest_marks WHERE stream = ?", (stream,))
        return int(rows[0][0]) if rows else 0

    def _write(self, batch: SampleBatch, mark: tuple[str, int] | None) -> bool:
        ordered = sort_by_tag_and_time(batch)
        self._check_known(ordered.tag_ids)
        blocks = encode_blocks(ordered)
        rollups = query.rollups_of(ordered.batch)
        with self._transaction("write samples", room_for=blocks) as db:
            if mark is not None and not self._advance_mark(db, *mark):
                return False
            self._insert_blocks(db, blocks)
            self._upsert_rollups(db, rollups)
        return True

    # --- reads ------------------------------------------------------------------------------
    def select_blocks(self, tag_ids: Sequence[int] | None, start_ns: int,
                      end_ns: int) -> list[BlockRow]:
        sql = "SELECT tag_id, min_ts, n, payload FROM blocks WHERE max_ts >= ? AND min_ts < ?"
        if tag_ids is None:
            return self._fetch("read blocks", sql + " ORDER BY id", (start_ns, end_ns))
        marks = ", ".join("?" * len(tag_ids))
        return self._fetch("read blocks", sql + f" AND tag_id IN ({marks}) ORDER BY id",
                           (start_ns, end_ns, *tag_ids))

    def select_rollups(self, level_ns: int, tag_id: int, start_ns: int,
                       end_ns: int) -> BucketStats:
        rows = self._rollup_rows(level_ns, tag_id, start_ns, end_ns)
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
            rows = self._fetch(
                "read latest",
                "SELECT tag_id, min_ts, n, payload FROM blocks WHERE tag_id = ? AND max_ts = "
                "(SELECT max(max_ts) FROM blocks WHERE tag_id = ?) ORDER BY id", (tag_id, tag_id))
            if rows:
                everything = decode_blocks(rows, -(2**63), 2**63 - 1)
                found.append(everything.take(np.array([len(everything) - 1])))
        return SampleBatch.concat(found)

    def sample_count(self) -> int:
        rows = self._fetch("count samples", "SELECT coalesce(sum(n), 0) FROM blocks")
        return int(rows[0][0]) if rows else 0

    # --- retention --------------------------------------------------------------------------
    def apply_retention(self, older_than_ns: int) -> int:
        cutoff = older_than_ns
        removed = self._drop_expired_storage(cutoff)
        straddling = self._fetch(
            "read blocks for retention", "SELECT id, tag_id, min_ts, n, payload, leaf FROM blocks "
            "WHERE min_ts < ? AND max_ts >= ? ORDER BY id", (cutoff, cutoff))
        trimmed, remainder = 0, []
        by_leaf: dict[int | None, list[BlockRow]] = {}
        for row in straddling:  # a trimmed block keeps its ledger leaf
            by_leaf.setdefault(row[5], []).append(tuple(row[1:5]))
        for leaf, rows in by_leaf.items():
            count, blocks = query.trim_blocks(rows, cutoff)
            trimmed += count
            remainder += [replace(b, leaf=leaf) for b in blocks]
        with self._transaction("apply retention", room_for=remainder) as db:
            removed += self._delete_expired_blocks(db, cutoff, [r[0] for r in straddling])
            self._store_blocks(db, remainder)
            db.execute("INSERT INTO ledger_retention (cutoff_ns, applied_ns) VALUES (?, ?)",
                       (cutoff, now_ns()))
        fresh = query.straddling_rollups(self, cutoff)
        with self._transaction("apply retention to rollups") as db:
            for level in fresh:
                db.execute(f"DELETE FROM {ROLLUP_TABLES[level]} WHERE part <= ? AND bucket < ?",
                           (cutoff // ROLLUP_PART_SPAN[level], cutoff))
            self._upsert_rollups(db, fresh)
        return removed + trimmed

    # --- ledger (see historian/ledger.py and docs/integrity.md) ----------------------------
    def write_leaves(self, entries: Sequence[LeafEntry]) -> None:
        """Store verified consecutive batches as ledger leaves in one transaction: their
        samples as one block per tag (marked with the first leaf index), one row per leaf
        (its manifest locates its samples in those blocks), and the rollups."""
        if not entries:
            return
        plan = plan_leaves(entries)
        self._check_known(plan.tag_ids)
        rollups = query.rollups_of(plan.samples)
        blocks = plan.blocks
        marks = ", ".join("?" * (len(LEAF_COLUMNS) + 1))
        with self._transaction("write ledger leaves", room_for=blocks) as db:
            self._insert_leaf_blocks(db, blocks)
            db.executemany(f"INSERT INTO ledger_leaves (idx, {', '.join(LEAF_COLUMNS)}) "
                           f"VALUES ({marks})", plan.rows)
            self._upsert_rollups(db, rollups)

    def ledger_hashes(self) -> list[tuple[int, bytes]]:
        """(index, leaf hash) of every stored leaf, by index."""
        rows = self._fetch("read ledger leaf hashes",
                           "SELECT idx, leaf_hash FROM ledger_leaves ORDER BY idx")
        return [(int(i), bytes(h)) for i, h in rows]

    def ledger_positions(self) -> dict[tuple[str, str], int]:
        """The highest stored sequence number of each (gateway id, source) stream."""
        rows = self._fetch("read ledger positions", "SELECT gateway_id, source, max(seq) FROM "
                           "ledger_leaves GROUP BY gateway_id, source")
        return {(str(g), str(s)): int(q) for g, s, q in rows}

    def ledger_leaves(self, start: int = 0, stop: int | None = None) -> list[LeafRow]:
        """Stored leaf rows with start <= index < stop, by index."""
        sql = f"SELECT idx, {', '.join(LEAF_COLUMNS)} FROM ledger_leaves WHERE idx >= ?"
        args: tuple[int, ...] = (start,)
        if stop is not None:
            sql, args = sql + " AND idx < ?", (start, stop)
        return [LeafRow.of(r) for r in self._fetch("read ledger leaves", sql + " ORDER BY idx",
                                                   args)]

    def ledger_blocks(self, start: int, stop: int | None) -> list[tuple[Any, ...]]:
        """(leaf, id, tag_id, min_ts, max_ts, n, payload) of blocks whose leaf index is in
        [start, stop) (stop None: no upper end), by leaf then id."""
        sql = ("SELECT leaf, id, tag_id, min_ts, max_ts, n, payload FROM blocks "
               "WHERE leaf IS NOT NULL AND leaf >= ?")
        args: tuple[int, ...] = (start,)
        if stop is not None:
            sql, args = sql + " AND leaf < ?", (start, stop)
        return self._fetch("read ledger blocks", sql + " ORDER BY leaf, id", args)

    def unledgered_blocks(self) -> list[tuple[int, int, int, int]]:
        """Per tag, blocks outside the ledger: (tag_id, samples, min_ts, max_ts)."""
        rows = self._fetch("read blocks outside the ledger",
                           "SELECT tag_id, sum(n), min(min_ts), max(max_ts) FROM blocks "
                           "WHERE leaf IS NULL GROUP BY tag_id ORDER BY tag_id")
        return [(int(t), int(n), int(lo), int(hi)) for t, n, lo, hi in rows]

    def ledger_blocks_at(self, tag_id: int, at_ns: int) -> list[tuple[Any, ...]]:
        """(leaf, tag_id, min_ts, n, payload) of the ledger blocks of a tag that hold the
        latest sample at or before `at_ns`: those spanning it, else the last one before."""
        cols = "leaf, tag_id, min_ts, n, payload"
        spanning = self._fetch("find ledger blocks", f"SELECT {cols} FROM blocks WHERE tag_id "
                               "= ? AND max_ts >= ? AND min_ts <= ? AND leaf IS NOT NULL "
                               "ORDER BY id", (tag_id, at_ns, at_ns))
        before = self._fetch("find ledger blocks", f"SELECT {cols} FROM blocks WHERE tag_id = ? "
                             "AND max_ts < ? AND leaf IS NOT NULL ORDER BY max_ts DESC LIMIT 1",
                             (tag_id, at_ns))
        return [*spanning, *before]

    def add_checkpoint(self, size: int, note: str) -> None:
        with self._transaction("store ledger checkpoint") as db:
            db.execute("INSERT INTO ledger_checkpoints (size, stored_ns, note) VALUES (?, ?, ?)",
                       (size, now_ns(), note))

    def ledger_checkpoints(self) -> list[Checkpointed]:
        rows = self._fetch("read ledger checkpoints", "SELECT size, stored_ns, note FROM "
                           "ledger_checkpoints ORDER BY size, stored_ns")
        return [Checkpointed(int(s), int(t), str(n)) for s, t, n in rows]

    def retention_cutoffs(self) -> list[int]:
        """Every retention cutoff applied so far (samples before it were deleted by policy)."""
        rows = self._fetch("read retention records",
                           "SELECT cutoff_ns FROM ledger_retention ORDER BY cutoff_ns")
        return [int(r[0]) for r in rows]

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
        rows = self._fetch("read events", sql + " ORDER BY ts, id LIMIT ?", (*args, limit))
        return [row_to_event(r) for r in rows]
