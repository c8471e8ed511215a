"""The parts of `isthmus monitor` that reach beyond one capture file: live capture on an
interface (stopped by SIGINT/SIGTERM or --duration), and the platform links given by
--site / --data / --historian (cyber-physical correlation of writes, the asset table)."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any, TypeVar

import click

from isthmus.cli.options import FILE_PATH, historian_url
from isthmus.cli.site import load_or_exit
from isthmus.config import SiteConfig
from isthmus.historian import Historian, HistorianError, open_historian
from isthmus.historian.assets import open_asset_store
from isthmus.security import Monitor, MonitorEvent, MonitorSummary, ProtocolEvent
from isthmus.security.assets import configured_assets, discovered_assets, merge_assets
from isthmus.security.capture.live import LiveCapture, LiveCaptureError
from isthmus.security.correlate import Correlator, correlation_fields
from isthmus.security.watch import LiveProgress, watch

__all__ = ["MonitorPlatform", "live_options", "platform_options", "run_live"]

F = TypeVar("F", bound=Callable[..., Any])


def live_options(func: F) -> F:
    func = click.option("--duration", type=float, default=None, metavar="S",
                        help="With --iface: stop after S seconds (default: until Ctrl-C).")(func)
    func = click.option("--filter", "bpf", default=None, metavar="BPF",
                        help="With --iface: tcpdump-style filter applied in the kernel "
                             "(e.g. 'tcp port 502 or host 10.0.0.5').")(func)
    return click.option("--iface", default=None, metavar="NAME",
                        help="Capture live on this interface (AF_PACKET; needs root or "
                             "CAP_NET_RAW). On `lo` the outgoing copies are skipped.")(func)


def platform_options(func: F) -> F:
    func = click.option("--historian", "historian_url", default=None, metavar="URL",
                        help="Historian for asset storage and process history "
                             "(sqlite:///PATH or postgresql://…).")(func)
    func = click.option("--data", "data_dir", default=None, metavar="DIR",
                        type=click.Path(file_okay=False, path_type=Path),
                        help="Data directory whose historian keeps the asset table and "
                             "the process history used to correlate writes.")(func)
    return click.option("--site", "site_path", default=None, metavar="FILE",
                        type=FILE_PATH,
                        help="Site file: merge its devices into the inventory and name the "
                             "tag, value and process before/after of each write.")(func)


def _live_progress(progress: LiveProgress) -> None:
    rate = progress.frames / progress.elapsed_s if progress.elapsed_s > 0 else 0.0
    click.echo(f"{progress.iface}: {progress.frames:,} frames, {progress.events:,} events, "
               f"{progress.dropped:,} dropped by the kernel ({rate:,.0f} frames/s)", err=True)


def run_live(monitor: Monitor, iface: str, bpf: str | None,
             duration: float | None) -> MonitorSummary:
    """Capture on `iface` until SIGINT, SIGTERM or `duration`; the monitor's summary."""
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    timer = threading.Timer(duration, stop.set) if duration is not None else None
    try:
        with LiveCapture(iface, bpf=bpf) as capture:
            click.echo(f"capturing on {iface}" + (f" ({bpf})" if bpf else "")
                       + (f" for {duration:g} s" if duration else " (Ctrl-C to stop)"), err=True)
            if timer is not None:
                timer.start()
            return watch(monitor, capture, stop, progress=_live_progress)
    except LiveCaptureError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        if timer is not None:
            timer.cancel()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@dataclass
class MonitorPlatform:
    """What --site/--data/--historian connect the monitor to; every part optional."""

    site: SiteConfig | None = None
    url: str | None = None
    history: Historian | None = None
    correlator: Correlator | None = None
    correlated: int = field(default=0)

    @classmethod
    def open(cls, site_path: Path | None, data_dir: Path | None,
             explicit_url: str | None) -> MonitorPlatform:
        site = load_or_exit(site_path) if site_path is not None else None
        url = None
        if data_dir is not None or explicit_url is not None:
            url = historian_url((data_dir or Path(".")).resolve(), explicit_url,
                                site.historian.url if site else None)
        history = None
        if url is not None and site is not None:
            try:
                history = open_historian(url)
            except HistorianError as exc:
                raise click.ClickException(f"cannot open historian {url}: {exc}") from exc
        correlator = Correlator(site, history=history) if site is not None else None
        return cls(site, url, history, correlator)

    def annotate(self, event: MonitorEvent, doc: dict[str, Any]) -> None:
        """Add `isthmus.tag`, `value_written`, `before`, `after` to a write's ECS `doc`."""
        if self.correlator is None or not isinstance(event, ProtocolEvent):
            return
        try:
            fields = correlation_fields(self.correlator.correlate(event))
        except HistorianError as exc:
            fields = {"correlation_error": str(exc)}
        if fields:
            self.correlated += 1
            doc.setdefault("isthmus", {}).update(fields)

    def save_inventory(self, monitor: Monitor) -> int:
        """Upsert the inventory (merged with the site's devices) into the asset table."""
        if self.url is None:
            return 0
        assets = discovered_assets(monitor.inventory)
        if self.site is not None:
            assets = merge_assets(configured_assets(self.site), assets)
        try:
            with open_asset_store(self.url) as store:
                store.upsert(assets)
        except HistorianError as exc:
            raise click.ClickException(f"cannot store the inventory: {exc}") from exc
        click.echo(f"{len(assets)} assets stored in {self.url}", err=True)
        return len(assets)

    def close(self) -> None:
        if self.history is not None:
            self.history.close()
