"""The asset table in the historian database: every configured or discovered asset with
first/last seen, upserted (first seen keeps the earliest, last seen the latest, an empty
field never erases a known one). Same table on SQLite and PostgreSQL.

    with open_asset_store("sqlite:///data/historian.db") as store:
        store.upsert([asset])
        store.assets()
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

import psycopg

from isthmus.historian.errors import HistorianError, HistorianUnavailable
from isthmus.model import Asset

__all__ = ["AssetStore", "open_asset_store"]

_TEXT = ("name", "kind", "vendor", "model", "firmware", "serial", "ip", "mac", "zone",
         "uns_path", "origin")
_COLUMNS = ("id", *_TEXT, "first_seen", "last_seen", "properties")


def _schema(big: str) -> str:
    text = ", ".join(f"{c} text NOT NULL DEFAULT ''" for c in _TEXT)
    return (f"CREATE TABLE IF NOT EXISTS assets (id text PRIMARY KEY, {text}, "
            f"first_seen {big}, last_seen {big}, properties text NOT NULL DEFAULT '{{}}')")


def _upsert_sql(least: str, greatest: str) -> str:
    keep = ", ".join(f"{c} = CASE WHEN excluded.{c} = '' THEN assets.{c} ELSE excluded.{c} END"
                     for c in _TEXT if c != "origin")
    return (f"INSERT INTO assets ({', '.join(_COLUMNS)}) VALUES "
            f"({', '.join('?' * len(_COLUMNS))}) ON CONFLICT (id) DO UPDATE SET {keep}, "
            "origin = CASE WHEN assets.origin = 'configured' THEN assets.origin "
            "ELSE excluded.origin END, "
            f"first_seen = coalesce({least}(assets.first_seen, excluded.first_seen), "
            "assets.first_seen, excluded.first_seen), "
            f"last_seen = coalesce({greatest}(assets.last_seen, excluded.last_seen), "
            "assets.last_seen, excluded.last_seen), properties = excluded.properties")


def _row(asset: Asset) -> tuple[Any, ...]:
    return (asset.id, *((getattr(asset, c) or "") for c in _TEXT), asset.first_seen,
            asset.last_seen, json.dumps(dict(asset.properties), sort_keys=True, default=str))


def _asset(row: Sequence[Any]) -> Asset:
    values = dict(zip(_COLUMNS, row, strict=True))
    for optional in ("ip", "mac"):
        values[optional] = values[optional] or None
    values["properties"] = json.loads(values["properties"] or "{}")
    return Asset(**values)


class AssetStore:
    """Assets in the historian database at `url` (its own connection, so that the monitor
    can write while the gateway writes samples)."""

    def __init__(self, url: str) -> None:
        self.url = url
        scheme, _, rest = url.partition("://")
        if scheme == "sqlite":
            self._open_sqlite(rest)
        elif scheme in ("postgresql", "postgres"):
            self._open_postgres(url)
        else:
            raise HistorianError(f"asset store {url!r}: scheme {scheme!r} is not sqlite or "
                                 "postgresql")

    def _open_sqlite(self, rest: str) -> None:
        path = rest[1:].partition("?")[0] if rest.startswith("/") else ""
        if not path:
            raise HistorianError(f"asset store {self.url!r}: expected sqlite:///PATH")
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._dialect = "sqlite"
        with self._mapped("open"):
            self._sqlite = sqlite3.connect(path, isolation_level=None, timeout=10.0)
            self._sqlite.execute(_schema("INTEGER"))
        self._sql = _upsert_sql("min", "max")

    def _open_postgres(self, url: str) -> None:
        parts = urlsplit(url)
        options = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        schema = options.pop("schema", "isthmus")
        conninfo = parts._replace(query="&".join(f"{k}={v}" for k, v in options.items()))
        self._dialect = "postgresql"
        with self._mapped("open"):
            self._pg = psycopg.connect(conninfo.geturl(), autocommit=True, connect_timeout=5)
            ident = psycopg.sql.Identifier(schema)
            self._pg.execute(psycopg.sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(ident))
            self._pg.execute(psycopg.sql.SQL("SET search_path TO {}").format(ident))
            self._pg.execute(_schema("bigint"))
        self._sql = _upsert_sql("LEAST", "GREATEST").replace("?", "%s")

    @contextmanager
    def _mapped(self, action: str) -> Iterator[None]:
        where = f"asset store {self.url.split('@')[-1]}: {action}"
        try:
            yield
        except sqlite3.OperationalError as exc:
            raise HistorianUnavailable(f"{where}: {exc}") from exc
        except sqlite3.Error as exc:
            raise HistorianError(f"{where}: {exc}") from exc
        except psycopg.OperationalError as exc:
            raise HistorianUnavailable(f"{where}: {exc}") from exc
        except psycopg.Error as exc:
            raise HistorianError(f"{where}: {exc}") from exc

    def upsert(self, assets: Sequence[Asset]) -> None:
        rows = [_row(a) for a in assets]
        if not rows:
            return
        with self._mapped("upsert assets"):
            if self._dialect == "sqlite":
                self._sqlite.execute("BEGIN IMMEDIATE")
                try:
                    self._sqlite.executemany(self._sql, rows)
                except BaseException:
                    self._sqlite.execute("ROLLBACK")
                    raise
                self._sqlite.execute("COMMIT")
            else:
                with self._pg.transaction(), self._pg.cursor() as cur:
                    cur.executemany(self._sql, rows)

    def assets(self) -> list[Asset]:
        """Every asset, by id."""
        query = f"SELECT {', '.join(_COLUMNS)} FROM assets ORDER BY id"
        with self._mapped("list assets"):
            if self._dialect == "sqlite":
                rows: list[tuple[Any, ...]] = self._sqlite.execute(query).fetchall()
            else:
                rows = self._pg.execute(query).fetchall()
        return [_asset(r) for r in rows]

    def close(self) -> None:
        if self._dialect == "sqlite":
            self._sqlite.close()
        else:
            self._pg.close()

    def __enter__(self) -> AssetStore:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def open_asset_store(url: str) -> AssetStore:
    """The asset table of the historian database at `url` (created if needed)."""
    return AssetStore(url)
