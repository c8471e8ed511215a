"""Long-running commands: `demo` (simulator + gateway + SQLite), `sim`, `run`.

Each stops cleanly on SIGINT, SIGTERM or after `--duration`: connectors stop, every accepted
sample is written, the process exits 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from collections.abc import Callable
from importlib import resources
from pathlib import Path

import click

from isthmus.cli.options import config_option, data_option, historian_option, historian_url
from isthmus.cli.site import load_or_exit
from isthmus.config import SiteConfig
from isthmus.gateway import Gateway, GatewayReport
from isthmus.historian import HistorianError, open_durable_historian
from isthmus.security.platform import PlatformMonitorError

DEMO_SITE = "packaging-plant.yaml"


def embedded_site_path() -> Path:
    """The packaging plant shipped inside the package (the demo's site file)."""
    return Path(str(resources.files("isthmus.sim").joinpath("sites", DEMO_SITE)))


def _stop_event(duration: float | None) -> asyncio.Event:
    """An event set by SIGINT, SIGTERM or, if given, after `duration` seconds."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    if duration is not None:
        loop.call_later(duration, stop.set)
    return stop


def _status(line: str) -> None:
    click.echo(f"[{time.strftime('%H:%M:%S')}] {line}", err=True)


async def _run_gateway(site: SiteConfig, data_dir: Path, url: str, stop: asyncio.Event, *,
                       on_start: Callable[[Gateway], None] | None = None) -> GatewayReport:
    try:
        historian = await asyncio.to_thread(open_durable_historian, url,
                                            buffer_dir=data_dir / "buffer")
    except HistorianError as exc:
        raise click.ClickException(f"cannot open historian {url}: {exc}") from exc
    try:
        gateway = Gateway(site, historian, data_dir=data_dir, status=_status,
                          status_every_s=5.0, historian_url=url)
        if on_start is not None:
            on_start(gateway)
        try:
            return await gateway.run(stop)
        except PlatformMonitorError as exc:
            raise click.ClickException(str(exc)) from exc
    finally:
        await asyncio.to_thread(historian.close)


def _summary(report: GatewayReport, url: str) -> None:
    sink = report.sink
    click.echo(f"stopped after {report.duration_s:.1f} s: {report.samples_published:,} samples "
               f"accepted, {sink.samples_written:,} written to {url}"
               + (f", {sink.quarantined_samples:,} quarantined" if sink.quarantined_samples
                  else ""), err=True)


def _sim_options(func):  # type: ignore[no-untyped-def]
    func = click.option("--seed", default=0, show_default=True, help="Random seed.")(func)
    func = click.option("--speed", default=1.0, show_default=True,
                        help="Simulated time runs this many times faster than wall time.")(func)
    return click.option("--scenario", default=None, metavar="FILE|NAME",
                        help="Fault scenario: a YAML file or a shipped name "
                             "(bearing-wear, sensor-faults), or an attack "
                             "(attack-modbus: an intruder at 127.0.66.6).")(func)


def _duration_option(func):  # type: ignore[no-untyped-def]
    return click.option("--duration", type=float, default=None, metavar="S",
                        help="Stop cleanly after S seconds (default: until Ctrl-C).")(func)


async def _serve_plant(site: SiteConfig, *, seed: int, speed: float, scenario: str | None,
                       stop: asyncio.Event) -> asyncio.Task[None]:
    from isthmus.sim import Plant, SimulatorError, SimulatorServer, load_scenario
    from isthmus.sim.attack import is_attack

    if is_attack(scenario):
        scenario = None                       # the plant runs normally; the intruder attacks
    try:
        plant = Plant(site, seed=seed, scenario=load_scenario(scenario) if scenario else None)
        server = SimulatorServer(plant, speed=speed)
        await server.__aenter__()
    except SimulatorError as exc:
        raise click.ClickException(str(exc)) from exc
    endpoints = ", ".join(f"{h}:{p}" for h, p in server.endpoints)
    click.echo(f"simulator: {len(server.endpoints)} Modbus/TCP PLCs at {endpoints} "
               f"(seed {seed}, speed ×{speed:g})", err=True)

    async def serve() -> None:
        try:
            await server.run_until(stop)
        finally:
            await server.close()

    return asyncio.create_task(serve())


@click.command("demo")
@_duration_option
@_sim_options
@data_option
@click.option("--hosts", "host_prefix", default=None, metavar="PREFIX",
              help="Serve the simulated PLCs on PREFIX1, PREFIX2, … (default 127.0.10.x).")
@click.option("--attack", is_flag=True,
              help="Also watch the plant with the security monitor live on lo, and run the "
                   "attack-modbus intruder; security events go to the historian.")
def demo_command(duration: float | None, seed: int, speed: float, scenario: str | None,
                 data_dir: Path, host_prefix: str | None, attack: bool) -> None:
    """Simulated packaging plant → Modbus/TCP → gateway → SQLite historian, in one command."""
    site = load_or_exit(embedded_site_path())
    if host_prefix is not None:
        site = site.on_hosts(host_prefix)
    if attack:
        from isthmus.cli.demo_attack import watched_site

        site = watched_site(site)     # the gateway runs the security monitor on lo
    url = historian_url(data_dir.resolve(), None)

    async def main() -> GatewayReport:
        stop = _stop_event(duration)
        sim_stop = asyncio.Event()
        sim_task = await _serve_plant(site, seed=seed, speed=speed, scenario=scenario,
                                      stop=sim_stop)
        click.echo(f"gateway: reading {len(site.tags())} tags into {url}"
                   + (f" for {duration:g} s" if duration else " (Ctrl-C to stop)"), err=True)
        attack_run = None
        if attack:
            from isthmus.cli.demo_attack import start_demo_attack

            attack_run = start_demo_attack(site)
        try:
            return await _run_gateway(site, data_dir.resolve(), url, stop, on_start=None
                                      if attack_run is None else attack_run.attach)
        finally:
            if attack_run is not None:
                await attack_run.finish()
            sim_stop.set()
            with contextlib.suppress(asyncio.CancelledError):
                await sim_task

    report = asyncio.run(main())
    _summary(report, url)
    example = site.tags()[0].path
    click.echo(f"\nData is in {data_dir}/. Look at it with:\n"
               f"  isthmus tags --data {data_dir}\n"
               f"  isthmus query {example} --from -5m --data {data_dir}\n"
               f"  isthmus query {example} --from -1h --every 1m --agg avg --data {data_dir}")


@click.command("sim")
@config_option(required=False)
@_duration_option
@_sim_options
def sim_command(config_path: Path | None, duration: float | None, seed: int, speed: float,
                scenario: str | None) -> None:
    """Serve a simulated plant over Modbus/TCP (each PLC on its own 127.0.10.x address)."""
    site = load_or_exit(config_path or embedded_site_path())

    async def main() -> None:
        stop = _stop_event(duration)
        task = await _serve_plant(site, seed=seed, speed=speed, scenario=scenario, stop=stop)
        from isthmus.sim.attack import is_attack

        if is_attack(scenario):
            from isthmus.cli.demo_attack import run_intruder

            await run_intruder(site, scenario, stop)
        await task

    asyncio.run(main())
    click.echo("simulator stopped", err=True)


@click.command("run")
@config_option(required=True)
@_duration_option
@data_option
@historian_option
def run_command(config_path: Path, duration: float | None, data_dir: Path,
                historian_url: str | None) -> None:
    """Run the gateway for a site file: poll its devices into the historian."""
    site = load_or_exit(config_path)
    url = _resolve_url(data_dir.resolve(), historian_url, site)
    click.echo(f"gateway: reading {len(site.tags())} tags from {len(site.devices)} devices "
               f"into {url}", err=True)

    async def main() -> GatewayReport:
        return await _run_gateway(site, data_dir.resolve(), url, _stop_event(duration))

    report = asyncio.run(main())
    _summary(report, url)


def _resolve_url(data_dir: Path, explicit: str | None, site: SiteConfig) -> str:
    return historian_url(data_dir, explicit, site.historian.url)
