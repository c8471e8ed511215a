"""Refuse to test a stale compiled build: Python would import the old compiled module and
not the edited source (`make native` rebuilds; ISTHMUS_PURE_PYTHON=1 ignores the build)."""

from __future__ import annotations

import os

import pytest

from isthmus.native import stale_sources


def pytest_sessionstart(session: pytest.Session) -> None:
    if os.environ.get("ISTHMUS_PURE_PYTHON"):
        return
    stale = stale_sources()
    if stale:
        pytest.exit("compiled modules older than their sources (run `make native`, or set "
                    f"ISTHMUS_PURE_PYTHON=1): {', '.join(stale)}", returncode=4)
