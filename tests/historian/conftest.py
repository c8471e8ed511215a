"""Fixtures: one historian per test, on SQLite (tmp_path) and on the PostgreSQL server
(a schema of its own, dropped afterwards)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from isthmus.historian import SequencedHistorian, open_historian
from isthmus.model import Tag
from tests.historian.backends import BACKENDS, backend_url


@pytest.fixture(params=BACKENDS)
def historian_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    yield from backend_url(request.param, tmp_path, sqlite_file="history/h.db",
                           schema_prefix="test_historian")


@pytest.fixture
def historian(historian_url: str) -> Iterator[SequencedHistorian]:
    h = open_historian(historian_url)
    yield h
    h.close()


def tag(name: str, **kwargs: object) -> Tag:
    return Tag(f"acme/plant/area/line1/cell/asset/{name}", **kwargs)  # type: ignore[arg-type]
