"""`isthmus oee`, `isthmus energy` and `isthmus spc`: efficiency reports recomputed from the
stored history with the same streaming code the gateway runs, per the site file's `shifts`,
`oee`, `energy` and `spc` sections."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TypeVar

import click
import numpy as np

from isthmus.analytics.energy import EnergyMonitor
from isthmus.analytics.oee import OeeMonitor
from isthmus.analytics.spc import SpcMonitor
from isthmus.cli.options import (
    config_option,
    data_option,
    format_option,
    historian_option,
    open_existing_historian,
    time_window,
)
from isthmus.cli.running import embedded_site_path
from isthmus.cli.site import load_or_exit
from isthmus.cli.tables import render
from isthmus.cli.times import format_ts
from isthmus.config.alarms import resolve_tag
from isthmus.config.schema import SiteConfig
from isthmus.historian import Historian
from isthmus.model import Event, SampleBatch, TagRegistry, UnknownTagError, now_ns

__all__ = ["energy_command", "oee_command", "spc_command"]

F = TypeVar("F", bound=Callable[..., object])
_CHUNK_NS = 3600 * 1_000_000_000  # replay an hour at a time: bounded memory


def _window_options(func: F) -> F:
    func = click.option("--to", "end", default="now", show_default=True,
                        help="End (exclusive).")(func)
    return click.option("--from", "start", default="-24h", show_default=True,
                        help="Start: ISO 8601 or relative (-24h, -7d).")(func)


def _common(func: F) -> F:
    for option in (historian_option, data_option, format_option, config_option(required=False),
                   _window_options):
        func = option(func)
    return func


def _replay(historian: Historian, paths: Iterable[str], start_ns: int, end_ns: int,
            feed: Callable[[SampleBatch], list[Event]]) -> list[Event]:
    """Feed the stored samples of `paths` in time order, an hour at a time."""
    events: list[Event] = []
    wanted = sorted(set(paths))
    for chunk in range(start_ns, end_ns, _CHUNK_NS):
        stop = min(chunk + _CHUNK_NS, end_ns)
        try:
            parts = [historian.raw(path, chunk, stop) for path in wanted]
        except UnknownTagError as exc:
            raise click.ClickException(f"{exc}: the history has no such tag; does the site "
                                       "file (-c) match the data (--data)?") from exc
        batch = SampleBatch.concat(parts)
        if len(batch):
            events += feed(batch.take(np.argsort(batch.ts, kind="stable")))
    return events


def _open(config_path: Path | None, data_dir: Path,
          url: str | None) -> tuple[SiteConfig, Historian, TagRegistry]:
    site = load_or_exit(config_path or embedded_site_path())
    historian = open_existing_historian(data_dir, url)
    return site, historian, historian.registry()


def _paths(site: SiteConfig, raw: Iterable[str | None]) -> list[str]:
    prefix = f"{site.enterprise}/{site.site}"
    return [resolve_tag(prefix, p) for p in raw if p is not None]


def _fmt(value: float | None, scale: float = 1.0, digits: int = 4) -> float | None:
    return None if value is None else round(value / scale, digits)


OEE_COLUMNS = ["line", "period", "pbt_min", "apt_min", "availability", "effectiveness",
               "quality_ratio", "oee", "failures", "mtbf_min", "mttr_min", "pq", "gq",
               "downtime_by_reason"]


@click.command("oee")
@click.option("--by", type=click.Choice(["shift", "day"]), default="shift", show_default=True)
@_common
def oee_command(by: str, start: str, end: str, config_path: Path | None, fmt: str,
                data_dir: Path, historian_url: str | None) -> None:
    """OEE per ISO 22400-2 of each line in the site file's `oee` section, per shift or day:
    availability, effectiveness, quality ratio, MTBF, MTTR and downtime by reason."""
    site, historian, registry = _open(config_path, data_dir, historian_url)
    if not site.oee.lines:
        raise click.ClickException("the site file has no `oee: lines:` section")
    start_ns, end_ns = time_window(start, end, now=now_ns())
    monitor = OeeMonitor(site, registry)
    paths = _paths(site, [p for line in site.oee.lines for p in
                          (line.state, line.good_count, line.reject_count, line.reason)])
    try:
        _replay(historian, paths, start_ns, end_ns, monitor.update)
    finally:
        historian.close()
    monitor.finish(end_ns)
    rows = []
    for closed in sorted(monitor.closed, key=lambda c: (c.line, c.period.start_ns)):
        if closed.kind != by:
            continue
        t = closed.totals
        reasons = "; ".join(f"{k} {v / 60:.1f} min" for k, v in
                            sorted(t.downtime_by_reason.items(), key=lambda kv: -kv[1]))
        rows.append([closed.line, closed.period.label, _fmt(t.pbt_s, 60, 1),
                     _fmt(t.apt_s, 60, 1), _fmt(t.availability), _fmt(t.effectiveness),
                     _fmt(t.quality_ratio), _fmt(t.oee), t.failures, _fmt(t.mtbf_s, 60, 1),
                     _fmt(t.mttr_s, 60, 1), t.pq, t.gq, reasons])
    render(OEE_COLUMNS, rows, fmt, sys.stdout)  # type: ignore[arg-type]


ENERGY_COLUMNS = ["meter", "day", "kwh", "units", "kwh_per_unit", "idle_kwh", "peak_kw",
                  "peak_at", "peak_events", "expected_kwh", "enpi"]


@click.command("energy")
@_common
def energy_command(start: str, end: str, config_path: Path | None, fmt: str, data_dir: Path,
                   historian_url: str | None) -> None:
    """Energy per ISO 50001 of each meter in the site file's `energy` section, per day:
    consumption per unit, idle energy, peak 15-minute demand and the baseline-adjusted
    EnPI (actual / expected)."""
    site, historian, registry = _open(config_path, data_dir, historian_url)
    if not site.energy.meters:
        raise click.ClickException("the site file has no `energy: meters:` section")
    start_ns, end_ns = time_window(start, end, now=now_ns())
    monitor = EnergyMonitor(site, registry)
    paths = _paths(site, [p for m in site.energy.meters for p in
                          (m.kwh, m.kw, m.state, *m.production,
                           m.baseline.variable if m.baseline else None)])
    try:
        events = _replay(historian, paths, start_ns, end_ns, monitor.update)
    finally:
        historian.close()
    events += monitor.finish()
    for meter in monitor.meters:
        if meter.baseline_error:
            click.echo(f"warning: {meter.baseline_error}", err=True)
    rows = []
    for day in sorted(monitor.days, key=lambda d: (d.meter, d.day.start_ns)):
        peaks = sum(1 for e in events if e.data["energy"]["meter"] == day.meter
                    and day.day.start_ns <= e.data["energy"]["interval_start"] < day.day.end_ns)
        rows.append([day.meter, day.day.label, _fmt(day.kwh, digits=3), day.units,
                     _fmt(day.kwh_per_unit, digits=6), _fmt(day.idle_kwh, digits=3),
                     _fmt(day.peak_kw, digits=2), format_ts(day.peak_at_ns), peaks,
                     _fmt(day.expected_kwh or None, digits=3), _fmt(day.enpi)])
    if not rows:
        click.echo(f"no complete {site.energy.interval}-min interval in the window "
                   "(the interval still open at its end is left out)", err=True)
    render(ENERGY_COLUMNS, rows, fmt, sys.stdout)  # type: ignore[arg-type]


SPC_COLUMNS = ["tag", "shift", "n", "mean", "sigma_within", "sigma_overall", "cp", "cpk",
               "pp", "ppk", "rule_events"]


@click.command("spc")
@_common
def spc_command(start: str, end: str, config_path: Path | None, fmt: str, data_dir: Path,
                historian_url: str | None) -> None:
    """Control chart rule violations and capability (Cp, Cpk, Pp, Ppk) per shift for each
    chart in the site file's `spc` section."""
    site, historian, registry = _open(config_path, data_dir, historian_url)
    if not site.spc.charts:
        raise click.ClickException("the site file has no `spc: charts:` section")
    start_ns, end_ns = time_window(start, end, now=now_ns())
    monitor = SpcMonitor(site, registry)
    try:
        events = _replay(historian, _paths(site, [c.tag for c in site.spc.charts]), start_ns,
                         end_ns, monitor.update)
    finally:
        historian.close()
    monitor.finish()
    rows = []
    for path, period, cap in sorted(monitor.closed, key=lambda c: (c[0], c[1].start_ns)):
        rules = sum(1 for e in events if e.tag == path and e.ts in period)
        rows.append([path, period.label, cap.n, _fmt(cap.mean), _fmt(cap.sigma_within),
                     _fmt(cap.sigma_overall), _fmt(cap.cp), _fmt(cap.cpk), _fmt(cap.pp),
                     _fmt(cap.ppk), rules])
    render(SPC_COLUMNS, rows, fmt, sys.stdout)  # type: ignore[arg-type]
