"""Fixtures for the ledger tests: a historian on SQLite (tmp_path) and on the PostgreSQL
server (a schema of its own, dropped afterwards), filled through the real ledger path, and
raw SQL access to its tables for tampering."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
import pytest

from isthmus.historian import LedgerHistorian, open_historian
from isthmus.integrity.identity import GatewayIdentity
from isthmus.integrity.ledger import BatchSigner, Ledger
from isthmus.model import SampleBatch, Tag, TagRegistry
from tests.historian.backends import BACKENDS, backend_url

S = 1_000_000_000
T0 = 1_750_000_000 * S
GATEWAY = "acme-test-gw"


def tag(name: str) -> Tag:
    return Tag(f"acme/plant/area/line1/cell/asset/{name}")


@pytest.fixture(params=BACKENDS)
def ledger_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    yield from backend_url(request.param, tmp_path, sqlite_file="h.db",
                           schema_prefix="test_ledger")


def poll(registry: TagRegistry, k: int, *, tags: int = 3, steps: int = 4) -> SampleBatch:
    """Batch k: `steps` seconds of `tags` tags, interleaved as a poll would deliver them."""
    ts = T0 + (k * steps + np.repeat(np.arange(steps), tags)) * S
    ids = np.tile([registry.id_of(tag(f"t{i}").path) for i in range(tags)], steps)
    values = np.arange(len(ts), dtype=np.float64) + 100.0 * k
    return SampleBatch.of(ids, ts, values, None, ts + 1000)


def open_ledger_historian(url: str) -> LedgerHistorian:
    historian = open_historian(url)
    assert isinstance(historian, LedgerHistorian)
    return historian


@dataclass
class Filled:
    url: str
    identity: GatewayIdentity
    registry: TagRegistry
    ledger: Ledger


def fill(url: str, *, leaves: int = 6, identity: GatewayIdentity | None = None,
         per_store: int = 1) -> Filled:
    """A historian with `leaves` signed batches of source `plc`, stored `per_store` leaves per
    transaction, and a checkpoint after the first half and at the end; the historian stays
    open in the ledger."""
    identity = identity or GatewayIdentity.generate(GATEWAY)
    historian = open_ledger_historian(url)
    registry = historian.register_tags([tag(f"t{i}") for i in range(3)])
    ledger = Ledger(historian, identity)
    signer = BatchSigner(identity)
    for k in range(0, leaves, per_store):
        group = range(k, min(k + per_store, leaves))
        admission = ledger.admit([signer.sign("plc", poll(registry, i)) for i in group])
        assert not admission.refused
        ledger.store(admission.accepted)
        if leaves // 2 - 1 in group:
            ledger.checkpoint()
    ledger.checkpoint()
    return Filled(url, identity, registry, ledger)


class RawSQL:
    """Direct access to the historian's tables, bypassing Isthmus (`?` placeholders)."""

    def __init__(self, url: str) -> None:
        self.sqlite = url.startswith("sqlite")
        if self.sqlite:
            self.conn: Any = sqlite3.connect(url[len("sqlite:///"):], isolation_level=None)
        else:
            base, _, schema = url.partition("?schema=")
            self.conn = psycopg.connect(base, autocommit=True)
            self.conn.execute(psycopg.sql.SQL("SET search_path TO {}").format(
                psycopg.sql.Identifier(schema)))

    def __call__(self, sql: str, *params: object) -> list[tuple[Any, ...]]:
        if not self.sqlite:
            sql = sql.replace("?", "%s")
        cur = self.conn.execute(sql, params)
        return list(cur.fetchall()) if cur.description else []

    def close(self) -> None:
        self.conn.close()


@pytest.fixture
def filled(ledger_url: str) -> Iterator[Filled]:
    f = fill(ledger_url)
    yield f
    f.ledger.historian.close()


@pytest.fixture
def filled_tx(ledger_url: str) -> Iterator[Filled]:
    """Six leaves stored three per transaction (blocks hold three leaves each)."""
    f = fill(ledger_url, per_store=3)
    yield f
    f.ledger.historian.close()


@pytest.fixture
def raw(filled: Filled) -> Iterator[RawSQL]:
    sql = RawSQL(filled.url)
    yield sql
    sql.close()


__all__ = ["GATEWAY", "T0", "Filled", "RawSQL", "S", "fill", "open_ledger_historian", "poll", "tag"]
