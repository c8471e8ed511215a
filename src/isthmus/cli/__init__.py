"""`isthmus` — the command line: demo, sim, run, check, plan, query, tags."""

from __future__ import annotations

import logging
import sys

import click

from isthmus.cli.alarms import alarms_command
from isthmus.cli.analytics import analytics_group
from isthmus.cli.assets import assets_command
from isthmus.cli.efficiency import energy_command, oee_command, spc_command
from isthmus.cli.health import health_command
from isthmus.cli.history import events_command, query_command, tags_command
from isthmus.cli.ledger import ledger_group
from isthmus.cli.monitor import monitor_command
from isthmus.cli.running import demo_command, run_command, sim_command
from isthmus.cli.site import check_command, plan_command

__all__ = ["main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("-v", "--verbose", is_flag=True, help="Log debug details to stderr.")
@click.version_option(package_name="isthmus")
def main(verbose: bool) -> None:
    """Isthmus: read industrial devices safely, name every signal in one ISA-95 namespace,
    keep its history.

    Start with `isthmus demo`, then `isthmus tags` and `isthmus query TAG`.
    """
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


for command in (demo_command, sim_command, run_command, check_command, plan_command,
                query_command, tags_command, monitor_command, alarms_command, ledger_group):
    main.add_command(command)
main.add_command(assets_command)
main.add_command(events_command)
main.add_command(analytics_group)
main.add_command(oee_command)
main.add_command(energy_command)
main.add_command(spc_command)
main.add_command(health_command)
