"""Fixtures: one historian per test, on SQLite (tmp_path) and on the PostgreSQL server
(a schema of its own, dropped afterwards)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from isthmus.historian import SequencedHistorian, open_historian
from isthmus.model import Tag

PG_URL = "postgresql://postgres@127.0.0.1:5432/test"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def historian_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/history/h.db"
        return
    schema = f"test_historian_{uuid.uuid4().hex[:12]}"
    yield f"{PG_URL}?schema={schema}"
    with psycopg.connect(PG_URL, autocommit=True) as pg:
        pg.execute(psycopg.sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(
            psycopg.sql.Identifier(schema)))


@pytest.fixture
def historian(historian_url: str) -> Iterator[SequencedHistorian]:
    h = open_historian(historian_url)
    yield h
    h.close()


def tag(name: str, **kwargs: object) -> Tag:
    return Tag(f"acme/plant/area/line1/cell/asset/{name}", **kwargs)  # type: ignore[arg-type]
