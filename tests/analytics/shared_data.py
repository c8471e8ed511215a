"""Where the public development data sets live (outside the repository; see
../shared/data/README.md): $ISTHMUS_SHARED_DATA, else `shared/data` beside the checkout,
else the workplace's /work/shared/data."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["SHARED_DATA"]


def _find() -> Path:
    override = os.environ.get("ISTHMUS_SHARED_DATA")
    candidates = [Path(override)] if override else []
    candidates += [Path(__file__).parents[3] / "shared" / "data", Path("/work/shared/data")]
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    return candidates[0]


SHARED_DATA = _find()
