"""Commands about a site file: `check` validates it, `plan` shows the Modbus requests."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from isthmus.cli.options import config_option, data_option, historian_url
from isthmus.config import SiteConfig, SiteConfigError, check_site, format_check_report, load_site

EXIT_CONFIG_ERROR = 2


def load_or_exit(path: Path) -> SiteConfig:
    """The site file's model, or every error in it on stderr and exit status 2."""
    try:
        return load_site(path)
    except SiteConfigError as exc:
        click.echo(str(exc), err=True)
        sys.exit(EXIT_CONFIG_ERROR)


@click.command("check")
@config_option(required=True)
@data_option
def check_command(config_path: Path, data_dir: Path) -> None:
    """Validate a site file; report every error with file:line and exit 2 if any."""
    report = check_site(config_path)
    text = format_check_report(report)
    if report.ok:
        click.echo(text)
        assert report.site is not None
        click.echo(f"historian: {historian_url(data_dir, None, report.site.historian.url)}")
        return
    click.echo(text, err=True)
    sys.exit(EXIT_CONFIG_ERROR)


@click.command("plan")
@config_option(required=True)
def plan_command(config_path: Path) -> None:
    """Print the Modbus requests the gateway will make for a site file, per link and unit."""
    from isthmus.connectors.modbus.planner import format_plan, plan_site

    site = load_or_exit(config_path)
    click.echo(format_plan(plan_site(site)))
