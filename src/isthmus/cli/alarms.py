"""`isthmus alarms`: the alarms that need attention, and the alarm-system KPIs, from the
alarm events stored in the historian."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from isthmus.analytics.alarm_kpis import KPI_COLUMNS, compute_kpis
from isthmus.analytics.alarms import AlarmRecord, latest_records, read_alarm_events, records_of
from isthmus.cli.options import (
    data_option,
    format_option,
    historian_option,
    open_existing_historian,
    time_window,
)
from isthmus.cli.tables import render
from isthmus.cli.times import format_ts
from isthmus.model import now_ns

__all__ = ["alarms_command"]

ALARM_COLUMNS = ["alarm", "state", "priority", "area", "tag", "condition", "value", "limit",
                 "since", "changed"]




def _row(record: AlarmRecord) -> list[object]:
    since = record.active_since if record.active_since is not None else record.ts
    return [record.alarm, record.state.value, record.priority.value, record.area, record.tag,
            record.condition, record.value, record.limit, format_ts(since),
            format_ts(record.ts)]


def _rank(record: AlarmRecord) -> tuple[int, int, int]:
    order = ["unack_active", "unack_rtn", "ack_active", "shelved", "suppressed",
             "out_of_service", "normal"]
    priorities = ["critical", "high", "medium", "low"]
    return (order.index(record.state.value), priorities.index(record.priority.value),
            -record.ts)


@click.command("alarms")
@click.option("--all", "show_all", is_flag=True,
              help="Every alarm that ever changed, not only those needing attention.")
@click.option("--kpis", is_flag=True, help="The ISA-18.2 / EEMUA 191 KPI report instead.")
@click.option("--from", "start", default="-24h", show_default=True,
              help="KPI window start: ISO 8601 or relative (-24h, -7d).")
@click.option("--to", "end", default="now", show_default=True, help="KPI window end.")
@format_option
@data_option
@historian_option
def alarms_command(show_all: bool, kpis: bool, start: str, end: str, fmt: str, data_dir: Path,
                   historian_url: str | None) -> None:
    """List the alarms that need attention (unacknowledged, active, shelved, suppressed or
    out of service), most urgent first; with --kpis, report the alarm system's performance."""
    now = now_ns()
    start_ns, end_ns = time_window(start, end, now=now)
    historian = open_existing_historian(data_dir, historian_url)
    try:
        # from the beginning: an alarm standing for weeks changed state weeks ago
        records = list(records_of(read_alarm_events(historian, 0, end_ns if kpis else now + 1)))
    except ValueError as exc:
        raise click.ClickException(f"unreadable alarm event: {exc}") from exc
    finally:
        historian.close()
    if kpis:
        try:
            report = compute_kpis(records, start_ns=start_ns, end_ns=end_ns)
        except ValueError as exc:
            raise click.BadParameter(str(exc)) from exc
        render(KPI_COLUMNS, report.rows(), fmt, sys.stdout)  # type: ignore[arg-type]
        return
    latest = sorted(latest_records(records).values(), key=_rank)
    shown = latest if show_all else [r for r in latest if r.state.value != "normal"]
    render(ALARM_COLUMNS, [_row(r) for r in shown], fmt, sys.stdout)  # type: ignore[arg-type]
