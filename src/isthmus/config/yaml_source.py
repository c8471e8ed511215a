"""Reading a site file's YAML while keeping the node tree, so that every later error can be
mapped back to a line and column; detects duplicate keys, which PyYAML silently collapses.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from isthmus.config.errors import ConfigIssue, SiteConfigError

__all__ = ["Finding", "Loc", "SiteSource", "format_loc", "read_source"]

#: A pydantic-style location: field names, list indexes, and "[key]" for a mapping key.
Loc = tuple[str | int, ...]
KEY = "[key]"
_PLAIN_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


@dataclass(frozen=True, slots=True)
class Finding:
    """A problem located by a `Loc` in the document, before it is turned into a ConfigIssue."""

    loc: Loc
    message: str
    hint: str | None = None
    kind: str = ""
    at_key: bool = False
    #: 1-based (line, column) when known directly, rather than found by walking `loc`
    position: tuple[int, int] | None = None


def format_loc(loc: Loc) -> str:
    """`devices[1].units[0].unit_id` for ("devices", 1, "units", 0, "unit_id")."""
    out = ""
    for item in loc:
        if item == KEY:
            continue
        if isinstance(item, int):
            out += f"[{item}]"
        elif _PLAIN_KEY.match(item):
            out += f".{item}" if out else item
        else:
            out += f"[{item!r}]"
    return out


class _SiteLoader(yaml.SafeLoader):
    """SafeLoader whose bad timestamps (2024-13-45) raise a YAML error with a position,
    where PyYAML raises a bare ValueError."""

    def construct_yaml_timestamp(self, node: ScalarNode) -> datetime.date:
        try:
            return super().construct_yaml_timestamp(node)
        except ValueError as exc:
            raise yaml.constructor.ConstructorError(
                None, None, f"{node.value!r} looks like a date but is not one ({exc})",
                node.start_mark) from exc


_SiteLoader.add_constructor("tag:yaml.org,2002:timestamp",
                            _SiteLoader.construct_yaml_timestamp)


@dataclass(frozen=True, slots=True)
class SiteSource:
    """A parsed site file: its text, YAML node tree and plain Python data."""

    file: str
    root: Node
    data: Any
    #: keys that appear twice in one mapping; not fatal, so that the rest is still checked
    duplicate_keys: tuple[Finding, ...] = ()

    def position(self, loc: Loc, *, at_key: bool = False) -> tuple[int, int]:
        """1-based (line, column) of the most specific node that `loc` reaches."""
        mark = _locate(self.root, loc, at_key=at_key).start_mark
        return mark.line + 1, mark.column + 1

    def issue(self, finding: Finding) -> ConfigIssue:
        line, column = finding.position or self.position(finding.loc, at_key=finding.at_key)
        return ConfigIssue(self.file, line, column, format_loc(finding.loc),
                           finding.message, finding.hint)

    def line_of(self, loc: Loc) -> int:
        return self.position(loc)[0]


def _locate(root: Node, loc: Sequence[str | int], *, at_key: bool) -> Node:
    node, key_node = root, None
    for item in loc:
        if item == KEY:
            return key_node or node
        found = _child(node, item)
        if found is None:
            return key_node or node
        key_node, node = found
    if key_node is not None and (at_key or not isinstance(node, ScalarNode)):
        return key_node
    return node


def _child(node: Node, item: str | int) -> tuple[Node | None, Node] | None:
    if isinstance(node, MappingNode):
        for key, value in reversed(node.value):  # YAML keeps the last of duplicate keys
            if isinstance(key, ScalarNode) and key.value == str(item):
                return key, value
    elif isinstance(node, SequenceNode) and isinstance(item, int) and 0 <= item < len(node.value):
        return None, node.value[item]
    return None


def read_source(path: str | Path) -> SiteSource:
    """Parse `path` as YAML; file and syntax problems raise SiteConfigError, duplicate keys
    are returned in `duplicate_keys`."""
    file = str(path)
    text = _read_text(Path(path), file)
    try:
        root, data, duplicates = _compose(text)
    except yaml.MarkedYAMLError as exc:
        raise SiteConfigError(file, _syntax_issues(file, text, exc)) from exc
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        column = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
        raise SiteConfigError(file, [ConfigIssue(
            file, line, column, "", f"character {exc.character:#06x} is not allowed in YAML",
            "remove it, or write it as an escape inside a double-quoted string")]) from exc
    except yaml.YAMLError as exc:
        raise SiteConfigError(file, [ConfigIssue(file, None, None, "", f"bad YAML: {exc}")]) \
            from exc
    except RecursionError as exc:
        raise SiteConfigError(file, [ConfigIssue(file, None, None, "",
                                                 "the YAML nests too deeply to read")]) from exc
    if root is None:
        raise SiteConfigError(file, [ConfigIssue(
            file, None, None, "", "the file is empty",
            "a site file needs at least `enterprise:` and `site:`")])
    return SiteSource(file, root, data, tuple(duplicates))


def _compose(text: str) -> tuple[Node | None, Any, list[Finding]]:
    loader = _SiteLoader(text)
    try:
        root = loader.get_single_node()
        duplicates = list(_duplicate_keys(root)) if root is not None else []
        data = loader.construct_document(root) if root is not None else None
    finally:
        loader.dispose()
    return root, data, duplicates


def _read_text(path: Path, file: str) -> str:
    try:
        return path.read_bytes().decode("utf-8-sig")
    except FileNotFoundError as exc:
        raise SiteConfigError(file, [ConfigIssue(file, None, None, "", "no such file")]) from exc
    except IsADirectoryError as exc:
        raise SiteConfigError(file, [ConfigIssue(
            file, None, None, "", "is a directory, not a site file")]) from exc
    except OSError as exc:
        raise SiteConfigError(file, [ConfigIssue(
            file, None, None, "", f"cannot read: {exc.strerror or exc}")]) from exc
    except UnicodeDecodeError as exc:
        raise SiteConfigError(file, [ConfigIssue(
            file, None, None, "", f"not UTF-8 text (byte {exc.start}: {exc.reason})",
            "save the file as UTF-8")]) from exc


def _syntax_issues(file: str, text: str, exc: yaml.MarkedYAMLError) -> list[ConfigIssue]:
    mark = exc.problem_mark or exc.context_mark
    line = mark.line + 1 if mark else None
    column = mark.column + 1 if mark else None
    tab_lines = [n for n, row in enumerate(text.splitlines(), 1)
                 if "\t" in row[: len(row) - len(row.lstrip(" \t"))]]
    if line in tab_lines or (tab_lines and "\\t" in str(exc.problem)):
        return [ConfigIssue(file, n, 1, "", "tab character used for indentation",
                            "YAML indents with spaces only; replace the tabs with spaces")
                for n in tab_lines]
    message = f"YAML syntax error: {exc.problem}" if exc.problem else "YAML syntax error"
    if exc.context and exc.context_mark and exc.context_mark is not mark:
        message += f" ({exc.context} at line {exc.context_mark.line + 1})"
    elif exc.context:
        message += f" ({exc.context})"
    return [ConfigIssue(file, line, column, "", message)]


def _duplicate_keys(root: Node) -> Iterator[Finding]:
    """Every key that appears twice in one mapping, with the line of its first appearance."""
    seen_nodes: set[int] = set()
    stack: list[tuple[Node, Loc]] = [(root, ())]
    while stack:
        node, loc = stack.pop()
        if id(node) in seen_nodes:
            continue
        seen_nodes.add(id(node))
        if isinstance(node, SequenceNode):
            stack.extend((child, (*loc, i)) for i, child in enumerate(node.value))
        elif isinstance(node, MappingNode):
            first: dict[tuple[str, str], Node] = {}
            for key, value in node.value:
                if isinstance(key, ScalarNode) and key.tag != "tag:yaml.org,2002:merge":
                    ident = (key.tag, key.value)
                    if ident in first:
                        yield _duplicate(loc, key, first[ident])
                    first.setdefault(ident, key)
                    stack.append((value, (*loc, key.value)))


def _duplicate(loc: Loc, key: ScalarNode, first: Node) -> Finding:
    return Finding(
        loc=(*loc, key.value),
        message=f"duplicate key {key.value!r} (first at line {first.start_mark.line + 1}); "
                "YAML would silently keep only the last one",
        hint="remove one of them, or merge their contents",
        kind="duplicate-key",
        position=(key.start_mark.line + 1, key.start_mark.column + 1),
    )
