"""Helpers for writing site files in tests."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from isthmus.config import ConfigIssue, SiteConfigError, load_site


@pytest.fixture
def site_file(tmp_path: Path) -> Callable[[str], Path]:
    """Write dedented YAML text to a file and return its path."""

    def write(text: str) -> Path:
        path = tmp_path / "site.yaml"
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path

    return write


@pytest.fixture
def issues_of(site_file: Callable[[str], Path]) -> Callable[[str], tuple[ConfigIssue, ...]]:
    """The issues load_site reports for a YAML text (the test fails if it loads)."""

    def issues(text: str) -> tuple[ConfigIssue, ...]:
        with pytest.raises(SiteConfigError) as caught:
            load_site(site_file(text))
        return caught.value.issues

    return issues
