"""`isthmus assets`: the asset table of the historian database: configured devices and the
hosts the security monitor discovered, with role, vendor, model, firmware, first/last seen."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from isthmus.cli.options import data_option, format_option, historian_option, historian_url
from isthmus.cli.tables import render
from isthmus.cli.times import format_ts
from isthmus.historian import HistorianError
from isthmus.historian.assets import open_asset_store
from isthmus.model import Asset

__all__ = ["assets_command"]

COLUMNS = ["id", "kind", "ip", "mac", "vendor", "model", "firmware", "uns_path", "origin",
           "first_seen", "last_seen"]


def _row(asset: Asset) -> list[object]:
    return [asset.id, asset.kind, asset.ip or "", asset.mac or "", asset.vendor, asset.model,
            asset.firmware, asset.uns_path, asset.origin,
            format_ts(asset.first_seen) if asset.first_seen is not None else "",
            format_ts(asset.last_seen) if asset.last_seen is not None else ""]


@click.command("assets")
@data_option
@historian_option
@click.option("--kind", default=None, metavar="KIND",
              help="Only assets of this kind (plc, rtu, hmi, ews, historian, it-host, …).")
@format_option
def assets_command(data_dir: Path, historian_url: str | None, kind: str | None,
                   fmt: str) -> None:
    """List the assets kept in the historian database (configured and discovered; written
    by `isthmus monitor --data DIR` and `isthmus demo --attack`)."""
    url = _resolve(data_dir, historian_url)
    try:
        with open_asset_store(url) as store:
            assets = store.assets()
    except HistorianError as exc:
        raise click.ClickException(str(exc)) from exc
    rows = [_row(a) for a in assets if kind is None or a.kind == kind]
    if not rows and fmt == "table":
        click.echo(f"no assets in {url}: run `isthmus monitor … --data {data_dir}` first",
                   err=True)
        return
    render(COLUMNS, rows, fmt, sys.stdout)  # type: ignore[arg-type]


def _resolve(data_dir: Path, explicit: str | None) -> str:
    url = historian_url(data_dir.resolve(), explicit)
    if url.startswith("sqlite:///") and not Path(url[len("sqlite:///"):]).exists():
        raise click.ClickException(f"no historian at {url}: run `isthmus monitor … --data "
                                   f"{data_dir}` or `isthmus demo` first, or pass --historian")
    return url
