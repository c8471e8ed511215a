"""The public API of isthmus.integrity is deliberate: every name in __all__ exists, and the
error tree has one root."""

from __future__ import annotations

import isthmus.integrity as integrity
from isthmus.integrity import errors


def test_all_names_exist_and_are_sorted_by_kind() -> None:
    assert len(integrity.__all__) == len(set(integrity.__all__))
    for name in integrity.__all__:
        assert hasattr(integrity, name), name
    assert set(errors.__all__) <= set(integrity.__all__)


def test_every_error_derives_from_integrity_error() -> None:
    for name in errors.__all__:
        assert issubclass(getattr(errors, name), errors.IntegrityError), name
