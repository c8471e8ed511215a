"""Commands that read the history: `query` (raw or aggregated) and `tags` (the namespace)."""

from __future__ import annotations

import fnmatch
import sys
from pathlib import Path

import click

from isthmus.cli.options import (
    data_option,
    format_option,
    historian_option,
    open_existing_historian,
    time_window,
)
from isthmus.cli.tables import render
from isthmus.cli.times import format_ts, parse_duration, parse_time
from isthmus.historian import AGGREGATE_FUNCTIONS, Historian
from isthmus.model import Quality, UnknownTagError, now_ns


def _quality_name(code: int) -> str:
    try:
        return Quality(code).name.lower()
    except ValueError:
        return f"0x{code:08x}"


@click.command("query")
@click.argument("tags", nargs=-1, required=True)
@click.option("--from", "start", default="-15m", show_default=True,
              help="Start: ISO 8601 or relative (-15m, -1h, -2d, now).")
@click.option("--to", "end", default="now", show_default=True, help="End (exclusive).")
@click.option("--every", default=None, help="Bucket size for aggregates (10s, 1m, 1h).")
@click.option("--agg", default="avg", show_default=True,
              type=click.Choice(sorted(AGGREGATE_FUNCTIONS)), help="Aggregate function.")
@click.option("--limit", default=None, type=int, help="At most this many raw rows per tag.")
@format_option
@data_option
@historian_option
def query_command(tags: tuple[str, ...], start: str, end: str, every: str | None, agg: str,
                  limit: int | None, fmt: str, data_dir: Path,
                  historian_url: str | None) -> None:
    """Print the history of TAGS (ISA-95 paths): raw samples, or aggregates with --every."""
    now = now_ns()
    try:
        start_ns, end_ns = parse_time(start, now_ns=now), parse_time(end, now_ns=now)
        every_ns = parse_duration(every) if every else None
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc
    historian = open_existing_historian(data_dir, historian_url)
    try:
        if every_ns is None:
            columns, rows = _raw_rows(historian, tags, start_ns, end_ns, limit)
        else:
            columns, rows = _aggregate_rows(historian, tags, start_ns, end_ns, every_ns, agg)
    except UnknownTagError as exc:
        raise click.ClickException(f"{exc}; list the namespace with `isthmus tags`") from exc
    finally:
        historian.close()
    render(columns, rows, fmt, sys.stdout)  # type: ignore[arg-type]


def _raw_rows(historian: Historian, tags: tuple[str, ...], start_ns: int, end_ns: int,
              limit: int | None) -> tuple[list[str], list[list[object]]]:
    rows: list[list[object]] = []
    for tag in tags:
        batch = historian.raw(tag, start_ns, end_ns, limit=limit)
        rows.extend([tag, format_ts(int(ts)), float(v), _quality_name(int(q))]
                    for ts, v, q in zip(batch.ts, batch.value, batch.quality, strict=True))
    return ["tag", "time", "value", "quality"], rows


def _aggregate_rows(historian: Historian, tags: tuple[str, ...], start_ns: int, end_ns: int,
                    every_ns: int, fn: str) -> tuple[list[str], list[list[object]]]:
    rows: list[list[object]] = []
    for tag in tags:
        result = historian.aggregate(tag, start_ns, end_ns, every_ns, fn)
        rows.extend([tag, format_ts(int(b)), float(v), int(c)]
                    for b, v, c in zip(result.bucket_ns, result.value, result.count,
                                       strict=True))
    return ["tag", "bucket", fn, "count"], rows


@click.command("tags")
@click.argument("pattern", default="*")
@click.option("--latest/--no-latest", default=True, show_default=True,
              help="Show each tag's latest value.")
@format_option
@data_option
@historian_option
def tags_command(pattern: str, latest: bool, fmt: str, data_dir: Path,
                 historian_url: str | None) -> None:
    """List the namespace: every tag matching PATTERN (shell wildcards), with unit,
    range and latest value."""
    historian = open_existing_historian(data_dir, historian_url)
    try:
        registry = historian.registry()
        chosen = [(i, t) for i, t in registry if fnmatch.fnmatchcase(t.path, pattern)]
        last = historian.latest([t.path for _, t in chosen]) if latest and chosen else None
    finally:
        historian.close()
    latest_by_id = {} if last is None else {
        int(i): (int(ts), float(v), int(q))
        for i, ts, v, q in zip(last.tag_id, last.ts, last.value, last.quality, strict=True)}
    rows: list[list[object]] = []
    for tag_id, tag in chosen:
        rng = "" if tag.low is None else f"{tag.low:.12g}..{tag.high:.12g}"
        row: list[object] = [tag.path, tag.unit, tag.data_type.value, rng]
        if latest:
            ts, value, quality = latest_by_id.get(tag_id, (None, None, None))
            row += [value, "" if ts is None else format_ts(ts),
                    "" if quality is None else _quality_name(quality)]
        rows.append(row)
    columns = ["tag", "unit", "type", "range"] + (["latest", "time", "quality"] if latest else [])
    render(columns, rows, fmt, sys.stdout)  # type: ignore[arg-type]


EVENT_KINDS = ("alarm", "security", "integrity", "audit", "system")


@click.command("events")
@click.option("--kind", default=None, type=click.Choice(EVENT_KINDS),
              help="Only events of this kind (security: the monitor's alerts and flagged "
                   "requests).")
@click.option("--from", "start", default="-24h", show_default=True,
              help="Start: ISO 8601 or relative (-15m, -1h, -2d).")
@click.option("--to", "end", default="now", show_default=True, help="End (exclusive).")
@click.option("--limit", default=1000, show_default=True, type=click.IntRange(min=1),
              help="At most this many events, oldest first.")
@format_option
@data_option
@historian_option
def events_command(kind: str | None, start: str, end: str, limit: int, fmt: str,
                   data_dir: Path, historian_url: str | None) -> None:
    """List the stored events (alarms, security, integrity, audit, system), oldest first,
    with their ATT&CK technique ids and the tag they concern."""
    now = now_ns()
    start_ns, end_ns = time_window(start, end, now=now)
    historian = open_existing_historian(data_dir, historian_url)
    try:
        events = historian.events(start_ns, end_ns, kind=kind, limit=limit)
    finally:
        historian.close()
    rows: list[list[object]] = [
        [format_ts(e.ts), e.kind.value, e.severity.name.lower(), e.source, e.asset or "",
         e.tag or "", " ".join(e.attack_techniques), e.message] for e in events]
    render(["time", "kind", "severity", "source", "asset", "tag", "attack", "message"], rows,
           fmt, sys.stdout)  # type: ignore[arg-type]
