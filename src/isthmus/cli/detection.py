"""The detection part of `isthmus monitor`: baseline learning (--learn, --learn-for) and
protection (--baseline), rules (--rules), zones (--ot-net, --it-net) and the SIEM outputs
(--cef HOST:PORT [--cef-tcp], --zeek DIR); the alerts table of the end summary."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO, TypeVar

import click

from isthmus.cli.tables import render
from isthmus.cli.times import parse_duration
from isthmus.security import MonitorEvent, MonitorSummary
from isthmus.security.detect import (
    Alert,
    Baseline,
    Detector,
    Zones,
    load_rules,
)
from isthmus.security.detect.cef import CefSender
from isthmus.security.detect.errors import BaselineError, OutputError, RuleError
from isthmus.security.detect.zeek import ZeekLogs

__all__ = ["DetectionSetup", "detection_options"]

F = TypeVar("F", bound=Callable[..., Any])
_PathType = click.Path(path_type=Path)


def detection_options(func: F) -> F:
    options = [
        click.option("--no-detect", is_flag=True,
                     help="Only dissect and inventory: no rules, no alerts."),
        click.option("--learn", "learn_path", default=None, metavar="FILE", type=_PathType,
                     help="Learn a baseline (links, functions, address and value ranges, "
                          "polling periods, hosts per zone) and save it here."),
        click.option("--learn-for", default=None, metavar="DURATION",
                     help="With --learn: learn on the first DURATION of traffic (e.g. 1h, "
                          "capture time), save, then protect with it."),
        click.option("--baseline", "baseline_path", default=None, metavar="FILE",
                     type=click.Path(dir_okay=False, exists=True, path_type=Path),
                     help="Protect mode: raise deviations from this learned baseline."),
        click.option("--rules", "rule_paths", multiple=True, metavar="FILE|DIR",
                     type=click.Path(exists=True, path_type=Path),
                     help="More detection rules (YAML file or folder; repeatable). A rule "
                          "with a built-in id replaces it."),
        click.option("--ot-net", "ot_nets", multiple=True, metavar="CIDR",
                     help="OT (control) network; repeatable. Default: RFC 1918 and "
                          "127.0.0.0/8."),
        click.option("--it-net", "it_nets", multiple=True, metavar="CIDR",
                     help="IT network; repeatable. Alone: everything else is OT; with "
                          "--ot-net: the longer prefix decides."),
        click.option("--cef", "cef_target", default=None, metavar="HOST:PORT",
                     help="Send alerts as syslog CEF (RFC 5424) to this SIEM (UDP)."),
        click.option("--cef-tcp", is_flag=True, help="With --cef: use TCP (newline-framed)."),
        click.option("--zeek", "zeek_dir", default=None, metavar="DIR",
                     type=click.Path(file_okay=False, path_type=Path),
                     help="Write Zeek-compatible TSV logs here (conn, modbus, "
                          "modbus_detailed, <protocol>, notice)."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


@dataclass
class DetectionSetup:
    """The detector and the alert outputs built from the command-line options."""

    detector: Detector | None
    cef: CefSender | None = None
    zeek: ZeekLogs | None = None
    learn_path: Path | None = None
    notes: list[str] = field(default_factory=list)

    @classmethod
    def open(cls, options: dict[str, Any]) -> DetectionSetup:
        try:
            return cls._open(options)
        except (RuleError, BaselineError, OutputError, ValueError) as exc:
            raise click.UsageError(str(exc)) from exc

    @classmethod
    def _open(cls, o: dict[str, Any]) -> DetectionSetup:
        learn_path: Path | None = o["learn_path"]
        if o["learn_for"] and learn_path is None:
            raise click.UsageError("--learn-for needs --learn FILE to save the baseline")
        if learn_path is not None and o["baseline_path"] is not None:
            raise click.UsageError("give --learn or --baseline, not both")
        if o["no_detect"] and (learn_path or o["baseline_path"]):
            raise click.UsageError("--no-detect cannot learn or protect a baseline")
        setup = cls(None, learn_path=learn_path)
        if not o["no_detect"]:
            learn_for = parse_duration(o["learn_for"]) / 1e9 if o["learn_for"] else None
            baseline = Baseline.load(o["baseline_path"]) if o["baseline_path"] else None
            setup.detector = Detector(
                rules=load_rules(o["rule_paths"]),
                zones=Zones(ot_nets=o["ot_nets"], it_nets=o["it_nets"]), baseline=baseline,
                learn=learn_path is not None, learn_for_s=learn_for,
                on_learned=setup._save)
        if o["cef_target"]:
            setup.cef = CefSender.parse(o["cef_target"], tcp=o["cef_tcp"])
        if o["zeek_dir"] is not None:
            setup.zeek = ZeekLogs(o["zeek_dir"])
        return setup

    def _save(self, baseline: Baseline) -> None:
        assert self.learn_path is not None
        baseline.save(self.learn_path)
        self.notes.append(f"baseline of {len(baseline.links)} links learned from "
                          f"{baseline.events:,} events saved to {self.learn_path}")

    def wrap(self, sink: Callable[[MonitorEvent], None] | None
             ) -> Callable[[MonitorEvent], None] | None:
        """`sink` extended with the CEF and Zeek outputs (None when nothing listens)."""
        cef, zeek = self.cef, self.zeek
        if cef is None and zeek is None:
            return sink

        def emit(event: MonitorEvent) -> None:
            if sink is not None:
                sink(event)
            if zeek is not None:
                zeek.write(event)
            if cef is not None and isinstance(event, Alert):
                try:
                    cef.send(event)
                except OutputError as exc:
                    raise click.ClickException(str(exc)) from exc
        return emit

    def close(self) -> None:
        detector = self.detector
        if detector is not None and detector.mode == "learn" and self.learn_path is not None:
            self._save(detector.learned())
        if self.cef is not None:
            self.cef.close()
        if self.zeek is not None:
            self.zeek.close()

    def print_summary(self, summary: MonitorSummary, out: TextIO) -> None:
        for note in self.notes:
            out.write(f"{note}\n")
        alerts = summary.alerts
        if not alerts:
            return
        out.write(f"\n{alerts['total']:,} alerts (detection mode: {alerts['mode']})\n")
        if alerts["by_rule"]:
            out.write("\nAlerts by rule\n")
            render(["rule", "count"], [[k, v] for k, v in alerts["by_rule"].items()],
                   "table", out)
            out.write("\nAlerts by severity\n")
            render(["severity", "count"], [[k, v] for k, v in alerts["by_severity"].items()],
                   "table", out)
        if self.cef is not None:
            out.write(f"{self.cef.sent:,} alerts sent as CEF to "
                      f"{self.cef.address[0]}:{self.cef.address[1]}\n")
