"""Errors raised while loading a site file, each issue naming file, line, column and field.

    ConfigError
    └── SiteConfigError      one or more ConfigIssue, reported all at once
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

__all__ = ["ConfigError", "ConfigIssue", "SiteConfigError"]


class ConfigError(Exception):
    """Base of every configuration error."""


@dataclass(frozen=True, slots=True)
class ConfigIssue:
    """One problem in a site file. `line` and `column` are 1-based; None when the problem
    is with the file as a whole (missing, unreadable, empty)."""

    file: str
    line: int | None
    column: int | None
    path: str
    message: str
    hint: str | None = None

    def location(self) -> str:
        if self.line is None:
            return self.file
        if self.column is None:
            return f"{self.file}:{self.line}"
        return f"{self.file}:{self.line}:{self.column}"

    def __str__(self) -> str:
        where = f"{self.path}: " if self.path else ""
        text = f"{self.location()}: {where}{self.message}"
        if self.hint:
            text += f"\n    hint: {self.hint}"
        return text


def _sort_key(issue: ConfigIssue) -> tuple[int, int, str]:
    return (issue.line or 0, issue.column or 0, issue.path)


class SiteConfigError(ConfigError):
    """A site file that cannot be used; `issues` lists every problem found, in file order."""

    def __init__(self, file: str | Path, issues: Iterable[ConfigIssue]) -> None:
        self.file = str(file)
        self.issues: tuple[ConfigIssue, ...] = tuple(sorted(issues, key=_sort_key))
        if not self.issues:
            raise ValueError("SiteConfigError needs at least one issue")
        super().__init__(self.report())

    def report(self) -> str:
        count = len(self.issues)
        noun = "error" if count == 1 else "errors"
        lines = [f"{self.file}: {count} {noun} in the site file"]
        lines.extend(str(issue) for issue in self.issues)
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.report()
