"""`isthmus monitor --pcap FILE…`: the passive OT security monitor over capture files.

Events go to --out as ECS-like JSON lines; the inventory, communication map and counters
to --json-summary; the communication map to --dot; a summary table to stdout.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, BinaryIO, TextIO

import click

from isthmus.cli.detection import DetectionSetup, detection_options
from isthmus.cli.monitoring import MonitorPlatform, live_options, platform_options, run_live
from isthmus.cli.options import FILE_PATH
from isthmus.cli.tables import render
from isthmus.native import is_compiled
from isthmus.security import Monitor, MonitorEvent, MonitorSummary, Progress, to_ecs
from isthmus.security.ecs import json_line

__all__ = ["monitor_command"]


def _progress(progress: Progress) -> None:
    rate = progress.frames / progress.elapsed_s if progress.elapsed_s > 0 else 0.0
    click.echo(f"{progress.path}: {progress.frames:,} frames, {progress.events:,} events "
               f"({rate:,.0f} frames/s)", err=True)


def _table(title: str, columns: list[str], rows: list[list[object]], out: TextIO) -> None:
    if not rows:
        return
    out.write(f"\n{title}\n")
    render(columns, rows, "table", out)


def _engine() -> str:
    import isthmus.security.monitor as module

    if is_compiled(module):
        return "the per-packet path compiled (mypyc)"
    return "the per-packet path from its Python sources (`make native` compiles it, ≈ 2× faster)"


def _print_summary(summary: MonitorSummary, out: TextIO) -> None:
    out.write(f"{summary.frames:,} frames, {summary.events:,} protocol events, "
              f"{summary.anomalies:,} anomalies, {len(summary.hosts)} hosts; {_engine()}\n")
    if summary.capture:
        c = summary.capture
        out.write(f"live capture on {c['interface']}: {c['kernel_received']:,} frames passed "
                  f"the filter, {c['kernel_dropped']:,} dropped by the kernel\n")
    _table("Hosts", ["ip", "role", "mac", "mac vendor", "client of", "server of", "identity"],
           [[h["ip"], h["role"], ",".join(h["macs"]),
             ",".join(h.get("mac_vendors", {}).values()), ",".join(h["client_of"]),
             ",".join(h["server_of"]), " ".join(h.get("identity", {}).values())]
            for h in summary.hosts], out)
    _table("Functions", ["protocol", "function", "direction", "count"],
           [[*key.split("/"), count] for key, count in summary.functions.items()], out)
    _table("Anomalies", ["layer", "reason", "count"],
           [[*key.split("/", 1), count] for key, count in summary.anomalies_by_reason.items()],
           out)
    _table("Events by severity", ["severity", "count"],
           [[name, count] for name, count in sorted(summary.events_by_severity.items())], out)


@click.command("monitor")
@click.option("--pcap", "pcaps", multiple=True, metavar="FILE",
              type=FILE_PATH,
              help="A pcap or pcapng capture (repeat for several, read in order).")
@click.option("--out", "out_path", default=None, metavar="FILE",
              type=FILE_PATH,
              help="Write events as JSON lines here ('-' for stdout).")
@click.option("--json-summary", "summary_path", default=None, metavar="FILE",
              type=FILE_PATH,
              help="Write the inventory, communication map and counters as JSON here.")
@click.option("--dot", "dot_path", default=None, metavar="FILE",
              type=FILE_PATH,
              help="Write the communication map as a Graphviz DOT graph here.")
@click.option("--graphml", "graphml_path", default=None, metavar="FILE",
              type=FILE_PATH,
              help="Write the communication map as GraphML (yEd, Gephi, networkx) here.")
@live_options
@platform_options
@detection_options
def monitor_command(pcaps: tuple[Path, ...], out_path: Path | None,
                    summary_path: Path | None, dot_path: Path | None,
                    graphml_path: Path | None, iface: str | None, bpf: str | None,
                    duration: float | None, site_path: Path | None, data_dir: Path | None,
                    historian_url: str | None, **detection: Any) -> None:
    """Passive OT security monitor: dissect the industrial traffic in capture files
    (Modbus/TCP, recognised by content on any port), list hosts and their roles, map who
    talks to whom, report protocol anomalies. Never sends a packet."""
    if not pcaps and iface is None:
        raise click.UsageError("give capture files with --pcap FILE… or an interface with "
                               "--iface NAME")
    platform = MonitorPlatform.open(site_path, data_dir, historian_url)
    to_stdout = out_path is not None and str(out_path) == "-"
    events_file: BinaryIO | None = None
    if out_path is not None:
        events_file = sys.stdout.buffer if to_stdout else out_path.open("wb")

    def sink(event: MonitorEvent) -> None:
        assert events_file is not None
        doc = to_ecs(event)
        platform.annotate(event, doc)
        events_file.write(json_line(doc))

    setup = DetectionSetup.open(detection)
    monitor = Monitor(sink=setup.wrap(sink if events_file is not None else None),
                      detector=setup.detector)
    try:
        if iface is not None:
            summary = run_live(monitor, iface, bpf, duration)
        else:
            for path in pcaps:
                monitor.read(path, progress=_progress)
            summary = monitor.finish()
        platform.save_inventory(monitor)
    finally:
        platform.close()
        setup.close()
        if events_file is not None and not to_stdout:
            events_file.close()
    if summary_path is not None:
        summary_path.write_text(json.dumps(summary.to_dict(), indent=2) + "\n",
                                encoding="utf-8")
    if dot_path is not None:
        dot_path.write_text(monitor.comms.to_dot(monitor.inventory), encoding="utf-8")
    if graphml_path is not None:
        graphml_path.write_text(monitor.comms.to_graphml(monitor.inventory), encoding="utf-8")
    _print_summary(summary, sys.stderr if to_stdout else sys.stdout)
    setup.print_summary(summary, sys.stderr if to_stdout else sys.stdout)
    unreadable = summary.anomalies_by_reason.get("capture/unreadable", 0)
    if pcaps and unreadable == len(pcaps):
        raise click.ClickException("no capture could be read (see the anomalies above)")
