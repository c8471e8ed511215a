"""The historian: stores sample batches and events, answers raw, aggregate and latest queries.

`open_historian("sqlite:///data/history.db")` (embedded default) or
`open_historian("postgresql://user@host/db?schema=isthmus")`.
"""

from __future__ import annotations

import logging
import os
from urllib.parse import parse_qs, urlsplit

from isthmus.historian.api import (
    AGGREGATE_FUNCTIONS,
    Aggregate,
    Historian,
    LedgerHistorian,
    SequencedHistorian,
)
from isthmus.historian.buffer import BufferedHistorian, BufferStats
from isthmus.historian.errors import (
    HistorianCorruption,
    HistorianError,
    HistorianQueryError,
    HistorianUnavailable,
)

__all__ = [
    "AGGREGATE_FUNCTIONS",
    "Aggregate",
    "BufferStats",
    "BufferedHistorian",
    "Historian",
    "HistorianCorruption",
    "HistorianError",
    "HistorianQueryError",
    "HistorianUnavailable",
    "LedgerHistorian",
    "SequencedHistorian",
    "open_durable_historian",
    "open_historian",
]


def open_historian(url: str) -> SequencedHistorian:
    """Open (and create if needed) the historian at `url`.

    `sqlite:///relative/path.db`, `sqlite:////absolute/path.db` (parent folders are created;
    `?synchronous=normal` trades power-loss durability for speed), `sqlite:///:memory:`;
    `postgresql://user@host:port/db?schema=name` (schema defaults to `isthmus`).
    """
    scheme, _, rest = url.partition("://")
    if scheme == "sqlite":
        from isthmus.historian.sqlite import SQLiteHistorian

        if not rest.startswith("/") or len(rest) < 2:
            raise HistorianError(f"historian url {url!r}: expected sqlite:///PATH")
        path, _, params = rest[1:].partition("?")
        options = {k: v[-1] for k, v in parse_qs(params).items()}
        return SQLiteHistorian(path, synchronous=options.pop("synchronous", "full"))
    if scheme in ("postgresql", "postgres"):
        from isthmus.historian.postgres import PostgresHistorian

        parts = urlsplit(url)
        options = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        schema = options.pop("schema", "isthmus")
        query = "&".join(f"{k}={v}" for k, v in options.items())
        conninfo = parts._replace(query=query).geturl()
        return PostgresHistorian(conninfo, schema=schema)
    raise HistorianError(f"historian url {url!r}: scheme {scheme!r} is not sqlite or postgresql")


def open_durable_historian(url: str, *,
                           buffer_dir: str | os.PathLike[str]) -> BufferedHistorian:
    """The historian at `url` behind a durable buffer in `buffer_dir`. A backend that is
    unreachable now is opened later (writes are buffered meanwhile); any other error, such
    as a malformed URL, is raised now."""
    try:
        inner = open_historian(url)
    except HistorianUnavailable as exc:
        logging.getLogger(__name__).warning("historian %s unavailable, buffering: %s", url, exc)
        return BufferedHistorian(url, buffer_dir)
    return BufferedHistorian(inner, buffer_dir)
