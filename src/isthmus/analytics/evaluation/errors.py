"""The offline-evaluation error tree.

    EvaluationError
    └── DataFileError    a data file cannot be read as the command was told (names file:line)
"""

from __future__ import annotations

__all__ = ["DataFileError", "EvaluationError"]


class EvaluationError(Exception):
    """Base of every offline-evaluation error."""


class DataFileError(EvaluationError):
    """A data file does not have the shape the command expects."""
