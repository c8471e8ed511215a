"""The intruder of `isthmus sim --scenario attack-…` and `isthmus demo --attack`: runs the
attack against the served plant, printing each step; in the demo, the gateway runs the
security monitor on `lo` (the site gets a `security_monitor:` section) and the security
events it publishes on the bus are printed as they come."""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass
from pathlib import Path

import click

from isthmus.bus import Subscription
from isthmus.config import SiteConfig
from isthmus.config.security import SecurityMonitorConfig
from isthmus.gateway import Gateway
from isthmus.model import Event, EventKind
from isthmus.security.capture.live import LiveCaptureError
from isthmus.security.platform import PlatformMonitor
from isthmus.sim.attack import ATTACKS, AttackError, AttackStep, run_attack

__all__ = ["DemoAttack", "run_intruder", "start_demo_attack", "watched_site"]


def _step(step: AttackStep) -> None:
    if step.step == "sweep" and step.outcome == "exception 11":
        return                      # unit absent (gateway target failed): not worth a line
    click.echo(f"[{time.strftime('%H:%M:%S')}] intruder {step.step}: {step.target}: "
               f"{step.request} → {step.outcome}" + (f" ({step.tag})" if step.tag else ""),
               err=True)


async def run_intruder(site: SiteConfig, name: str | None, stop: asyncio.Event, *,
                       delay_s: float = 3.0) -> list[AttackStep]:
    """Wait `delay_s` (the plant and its pollers settle), then run attack `name` unless
    `stop` comes first."""
    plan = ATTACKS[name or "attack-modbus"]
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), delay_s)
    if stop.is_set():
        return []
    click.echo(f"intruder: {plan.description}", err=True)
    attack = asyncio.create_task(run_attack(site, plan, log=_step))
    stopped = asyncio.create_task(stop.wait())
    try:
        done, _ = await asyncio.wait({attack, stopped}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopped.cancel()
        if not attack.done():
            attack.cancel()
    if attack not in done:
        return []
    try:
        return attack.result()
    except AttackError as exc:
        click.echo(f"intruder stopped: {exc}", err=True)
        return []


def watched_site(site: SiteConfig) -> SiteConfig:
    """`site` with the security monitor on `lo`, filtered on its device hosts; a clear
    error now if this machine cannot capture live."""
    watched = site.model_copy(update={"security_monitor": SecurityMonitorConfig()})
    assert watched.security_monitor is not None
    try:
        PlatformMonitor(watched, watched.security_monitor, data_dir=Path("."),
                        publish=_nowhere).probe()
    except LiveCaptureError as exc:
        raise click.ClickException(f"demo --attack needs live capture on lo: {exc}") from exc
    click.echo(f"monitor: watching lo ({len(site.devices)} PLC hosts)", err=True)
    return watched


async def _nowhere(event: Event) -> None:
    raise AssertionError("the probe publishes nothing")


async def _print_security_events(subscription: Subscription) -> None:
    async for message in subscription:
        if isinstance(message, Event) and message.kind == EventKind.SECURITY:
            click.echo(f"[{time.strftime('%H:%M:%S')}] monitor: "
                       f"{message.severity.name.lower()} "
                       f"{' '.join(message.attack_techniques)} {message.message}", err=True)


@dataclass
class DemoAttack:
    task: asyncio.Task[list[AttackStep]]
    stop: asyncio.Event
    gateway: Gateway | None = None
    printer: asyncio.Task[None] | None = None

    def attach(self, gateway: Gateway) -> None:
        """Print the gateway's security events (a live bus subscriber: never slows it)."""
        self.gateway = gateway
        self.printer = asyncio.create_task(_print_security_events(gateway.bus.subscribe(
            "demo-console", durable=False, maxsize=1024, events_only=True)))

    async def finish(self) -> None:
        """Stop the intruder if still running; the monitor's counts once the gateway ended."""
        self.stop.set()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task
        if self.printer is not None:
            if self.gateway is not None and not self.gateway.bus.closed:
                self.printer.cancel()           # the gateway never started
            with contextlib.suppress(asyncio.CancelledError):
                await self.printer
        security = self.gateway.security if self.gateway is not None else None
        if security is not None:
            c = security.counters
            click.echo(f"monitor: {c.published} security events stored ({c.alerts} detection "
                       f"alerts), {c.assets} assets in the inventory, {c.kernel_dropped} "
                       "frames dropped by the kernel", err=True)


def start_demo_attack(site: SiteConfig) -> DemoAttack:
    """Start the intruder, which waits a few seconds for the plant and its pollers."""
    stop = asyncio.Event()
    return DemoAttack(asyncio.create_task(run_intruder(site, "attack-modbus", stop)), stop)
