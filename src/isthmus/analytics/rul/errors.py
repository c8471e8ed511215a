"""The remaining-useful-life error tree.

    RulError
    ├── RunDataError     a run-to-failure or truth file is malformed (names file:line)
    └── RulModelError    the model cannot be trained or used as asked
"""

from __future__ import annotations

__all__ = ["RulError", "RulModelError", "RunDataError"]


class RulError(Exception):
    """Base of every remaining-useful-life error."""


class RunDataError(RulError):
    """A C-MAPSS style file does not have the expected shape."""


class RulModelError(RulError):
    """Training or prediction is impossible with the data given."""
