"""Exceptions raised by the historian, as one tree.

    HistorianError
    ├── HistorianUnavailable   the backend cannot be reached (connection refused, lost, locked)
    ├── HistorianQueryError    a query that cannot be answered (bad function, bad range)
    └── HistorianCorruption    stored data that does not decode

Unknown tags raise `isthmus.model.UnknownTagError`, shared with the rest of the platform.
"""

from __future__ import annotations

__all__ = [
    "HistorianCorruption",
    "HistorianError",
    "HistorianQueryError",
    "HistorianUnavailable",
]


class HistorianError(Exception):
    """Root of every historian error."""


class HistorianUnavailable(HistorianError):
    """The backend cannot be reached; the caller may retry or buffer the write."""


class HistorianQueryError(HistorianError, ValueError):
    """A query was malformed (unknown aggregate function, empty bucket size, bad range)."""


class HistorianCorruption(HistorianError):
    """A stored block or buffer record does not decode."""
