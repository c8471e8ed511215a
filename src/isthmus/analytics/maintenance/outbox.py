"""A durable outbox for webhook deliveries: a small SQLite file in the data directory, so
that requests survive a restart while the CMMS is down, and go out in the order they came."""

from __future__ import annotations

import json
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["Outbox", "Pending"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    request_id TEXT NOT NULL UNIQUE,
    body TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT
);
CREATE TABLE IF NOT EXISTS rejected (
    seq INTEGER PRIMARY KEY,
    request_id TEXT NOT NULL,
    body TEXT NOT NULL,
    reason TEXT NOT NULL
);
"""


@dataclass(frozen=True, slots=True)
class Pending:
    seq: int
    request_id: str
    body: dict[str, Any]
    attempts: int


class Outbox:
    """Blocking; safe to call from worker threads (one connection behind a lock)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")  # a request we accepted is on disk
        self._db.executescript(_SCHEMA)

    def put(self, request_id: str, body: dict[str, Any]) -> bool:
        """Queue a request; False if one with this id is already queued (idempotent)."""
        with self._lock:
            cursor = self._db.execute(
                "INSERT OR IGNORE INTO outbox (request_id, body) VALUES (?, ?)",
                (request_id, json.dumps(body, separators=(",", ":"), default=str)))
            return cursor.rowcount == 1

    def head(self) -> Pending | None:
        """The oldest queued request."""
        with self._lock:
            row = self._db.execute("SELECT seq, request_id, body, attempts FROM outbox "
                                   "ORDER BY seq LIMIT 1").fetchone()
        if row is None:
            return None
        return Pending(int(row[0]), str(row[1]), json.loads(row[2]), int(row[3]))

    def delivered(self, seq: int) -> None:
        with self._lock:
            self._db.execute("DELETE FROM outbox WHERE seq = ?", (seq,))

    def failed(self, seq: int, error: str) -> int:
        """Record a failed attempt; the number of attempts so far."""
        with self._lock:
            self._db.execute("UPDATE outbox SET attempts = attempts + 1, last_error = ? "
                             "WHERE seq = ?", (error, seq))
            row = self._db.execute("SELECT attempts FROM outbox WHERE seq = ?",
                                   (seq,)).fetchone()
        return int(row[0]) if row else 0

    def reject(self, seq: int, reason: str) -> None:
        """Move a request the receiver refused for good to the `rejected` table."""
        with self._lock:
            self._db.execute("BEGIN")
            self._db.execute("INSERT INTO rejected (seq, request_id, body, reason) "
                             "SELECT seq, request_id, body, ? FROM outbox WHERE seq = ?",
                             (reason, seq))
            self._db.execute("DELETE FROM outbox WHERE seq = ?", (seq,))
            self._db.execute("COMMIT")

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT count(*) FROM outbox").fetchone()[0])

    def rejected(self) -> list[tuple[str, str]]:
        with self._lock:
            rows = self._db.execute("SELECT request_id, reason FROM rejected ORDER BY seq")
            return [(str(r[0]), str(r[1])) for r in rows]

    def close(self) -> None:
        with self._lock:
            self._db.close()
