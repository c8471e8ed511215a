"""`open_historian` URL forms."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from isthmus.historian import (
    HistorianError,
    HistorianUnavailable,
    open_durable_historian,
    open_historian,
)
from isthmus.model import SampleBatch, Tag


def test_relative_sqlite_path_creates_parent_folders(tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    open_historian("sqlite:///data/deep/h.db").close()
    assert (tmp_path / "data" / "deep" / "h.db").exists()


def test_absolute_sqlite_path(tmp_path: Path):
    open_historian(f"sqlite:///{tmp_path}/abs/h.db").close()
    assert (tmp_path / "abs" / "h.db").exists() and os.path.isabs(tmp_path)


def test_in_memory_sqlite():
    h = open_historian("sqlite:///:memory:")
    assert h.sample_count() == 0
    h.close()


@pytest.mark.parametrize("url", ["mysql://x/y", "sqlite:/nope", "sqlite:///h.db?synchronous=off"])
def test_bad_urls_are_rejected_with_the_url_in_the_message(url: str, tmp_path: Path,
                                                           monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(HistorianError, match=r"sqlite|mysql"):
        open_historian(url)


@pytest.mark.postgres
def test_unreachable_postgres_raises_historian_unavailable():
    with pytest.raises(HistorianUnavailable, match=r"127\.0\.0\.1"):
        open_historian("postgresql://postgres@127.0.0.1:1/test")


@pytest.mark.postgres
def test_durable_historian_opens_even_when_postgres_is_down_and_buffers_writes(
        tmp_path: Path):
    h = open_durable_historian("postgresql://postgres@127.0.0.1:1/test",
                               buffer_dir=tmp_path / "buffer")
    h.write(SampleBatch.of([1], [5], [1.0]))
    assert h.stats().backlog_batches == 1


def test_durable_historian_raises_for_a_malformed_url(tmp_path: Path):
    with pytest.raises(HistorianError, match="scheme"):
        open_durable_historian("sqlite:/x.db", buffer_dir=tmp_path)


def test_durable_historian_writes_through_when_the_backend_is_up(tmp_path: Path):
    h = open_durable_historian(f"sqlite:///{tmp_path}/h.db", buffer_dir=tmp_path / "buffer")
    path = "acme/plant/area/line1/cell/asset/x"
    tid = h.register_tags([Tag(path)]).id_of(path)
    h.write(SampleBatch.of([tid], [5], [1.0]))
    assert (h.sample_count(), h.stats().backlog_batches) == (1, 0)
    h.close()
