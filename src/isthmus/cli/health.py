"""`isthmus health`: the fleet's health index and remaining useful life, recomputed from the
stored history with the same streaming code the gateway runs (site file `health:`)."""

from __future__ import annotations

import sys
from pathlib import Path

import click
import numpy as np

from isthmus.analytics.health import AssetHealth, HealthEngine
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
from isthmus.historian import Historian
from isthmus.model import SampleBatch, UnknownTagError, now_ns

__all__ = ["health_command"]

_CHUNK_NS = 3600 * 1_000_000_000  # replay an hour at a time: bounded memory

COLUMNS = ["asset", "health", "rul_h", "rul_low_h", "rul_high_h", "worst_signal", "trend",
           "slope_per_h", "level", "threshold", "last_update"]


def _replay(historian: Historian, engine: HealthEngine, start_ns: int, end_ns: int) -> None:
    paths = sorted({p for a in engine.assets for p in
                    (a.degradation_path, a.running_path, a.anomaly_path, *a.signals,
                     *a.inputs)
                    if p is not None})
    for event in historian.events(start_ns, end_ns, limit=100_000):
        engine.observe(event)  # anomaly thresholds
    for chunk in range(start_ns, end_ns, _CHUNK_NS):
        stop = min(chunk + _CHUNK_NS, end_ns)
        parts = []
        for path in paths:
            try:
                parts.append(historian.raw(path, chunk, stop))
            except UnknownTagError:
                continue  # a tag never stored (e.g. no anomaly score yet): nothing to add
        batch = SampleBatch.concat(parts)
        if len(batch):
            engine.update(batch.take(np.argsort(batch.ts, kind="stable")))
            engine.derived.take()


def _row(path: str, health: AssetHealth | None, threshold: float) -> list[object]:
    if health is None:
        return [path, None, None, None, None, None, None, None, None, threshold, None]
    rul = health.rul_hours()
    fit = health.fit
    return [path, health.index, *(rul if rul is not None else (None, None, None)),
            health.worst, health.model,
            round(fit.slope_per_hour, 6) if fit else None, round(health.level, 4), threshold,
            format_ts(health.ts)]


@click.command("health")
@click.option("--from", "start", default="-7d", show_default=True,
              help="Replay from: ISO 8601 or relative (-24h, -7d); cover the trend window.")
@click.option("--to", "end", default="now", show_default=True, help="Replay to (exclusive).")
@config_option(required=False)
@format_option
@data_option
@historian_option
def health_command(start: str, end: str, config_path: Path | None, fmt: str, data_dir: Path,
                   historian_url: str | None) -> None:
    """Health index (0-100), remaining useful life with its 80 % interval, the worst signal
    and the degradation trend of every asset in the site file's `health` section."""
    site = load_or_exit(config_path or embedded_site_path())
    if not site.health.assets:
        raise click.ClickException("the site file has no `health: assets:` section")
    now = now_ns()
    start_ns, end_ns = time_window(start, end, now=now)
    historian = open_existing_historian(data_dir, historian_url)
    try:
        engine = HealthEngine(site, historian.registry())
        _replay(historian, engine, start_ns, end_ns)
    finally:
        historian.close()
    rows = [_row(a.path, a.latest, a.threshold) for a in engine.assets]
    render(COLUMNS, rows, fmt, sys.stdout)  # type: ignore[arg-type]
