"""Options shared by several commands, and where each command finds the data directory."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from isthmus.cli.times import parse_time
from isthmus.historian import Historian, HistorianError, open_historian

F = TypeVar("F", bound=Callable[..., Any])

DEFAULT_DATA = "./isthmus-data"

#: The type of every option that names one file (to read or to write).
FILE_PATH = click.Path(dir_okay=False, path_type=Path)


def data_option(func: F) -> F:
    return click.option(
        "--data", "data_dir", default=DEFAULT_DATA, show_default=True,
        type=click.Path(file_okay=False, path_type=Path),
        help="Data directory (historian, buffer, quarantine). `demo` and `query` meet here.",
    )(func)


def historian_option(func: F) -> F:
    return click.option(
        "--historian", "historian_url", default=None, metavar="URL",
        help="sqlite:///PATH or postgresql://… (default: the site file's, else "
             "sqlite in --data).",
    )(func)


def config_option(*, required: bool) -> Callable[[F], F]:
    def wrap(func: F) -> F:
        return click.option(
            "-c", "--config", "config_path", required=required, metavar="FILE",
            type=FILE_PATH,
            help="Site file (YAML)." + ("" if required else
                                        " Default: the embedded packaging plant."),
        )(func)
    return wrap


def historian_url(data_dir: Path, explicit: str | None, configured: str | None = None) -> str:
    """The URL from the command line, else the site file, else SQLite in the data dir."""
    if explicit:
        return explicit
    if configured:
        return configured
    return f"sqlite:///{(data_dir / 'historian.db').as_posix()}"


def format_option(func: F) -> F:
    """--table (default), --json or --csv, into the parameter `fmt`."""
    func = click.option("--json", "fmt", flag_value="json", help="JSON output.")(func)
    func = click.option("--csv", "fmt", flag_value="csv", help="CSV output.")(func)
    return click.option("--table", "fmt", flag_value="table", default=True,
                        help="Text table (default).")(func)


def open_existing_historian(data_dir: Path, url: str | None) -> Historian:
    """The historian a reading command works on; a clear error if there is none yet."""
    resolved = historian_url(data_dir, url)
    if resolved.startswith("sqlite:///") and not Path(resolved[len("sqlite:///"):]).exists():
        raise click.ClickException(
            f"no historian at {resolved}: run `isthmus demo` or `isthmus run -c FILE` first, "
            "or pass --data / --historian")
    try:
        return open_historian(resolved)
    except HistorianError as exc:
        raise click.ClickException(str(exc)) from exc


def time_window(start: str, end: str, *, now: int) -> tuple[int, int]:
    """`--from` and `--to` in nanoseconds (relative ones counted back from `now`); a usage
    error naming the value that is neither ISO 8601 nor relative."""
    try:
        return parse_time(start, now_ns=now), parse_time(end, now_ns=now)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc
