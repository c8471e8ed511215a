"""A historian URL on each backend for one test: SQLite in tmp_path, or a schema of its
own on the local PostgreSQL server, dropped afterwards."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

__all__ = ["BACKENDS", "PG_URL", "backend_url"]

PG_URL = "postgresql://postgres@127.0.0.1:5432/test"

#: Fixture params: every test runs on SQLite, and on PostgreSQL unless `-m "not postgres"`.
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


def backend_url(backend: str, tmp_path: Path, *, sqlite_file: str,
                schema_prefix: str) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path}/{sqlite_file}"
        return
    schema = f"{schema_prefix}_{uuid.uuid4().hex[:12]}"
    yield f"{PG_URL}?schema={schema}"
    with psycopg.connect(PG_URL, autocommit=True) as pg:
        pg.execute(psycopg.sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(
            psycopg.sql.Identifier(schema)))
