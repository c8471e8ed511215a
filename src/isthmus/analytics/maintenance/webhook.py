"""Deliver maintenance-worthy events to a CMMS webhook: events at or above the configured
severity become work requests in the durable outbox, and one sender POSTs them in order,
retrying with capped exponential backoff until the receiver takes each one.

2xx is delivered; 408, 429, 5xx and connection errors are retried (after `retries` failed
attempts a system event says so, and retrying goes on: nothing is dropped); any other 4xx
is a refusal: the request moves to the outbox's `rejected` table with the reason."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from isthmus.analytics.maintenance.outbox import Outbox, Pending
from isthmus.analytics.maintenance.workorder import event_id, work_request
from isthmus.bus import BusClosedError, Subscription
from isthmus.config.efficiency import WebhookConfig
from isthmus.model import Event, EventKind, Severity, now_ns

__all__ = ["DeliveryError", "WebhookDelivery", "WebhookStats", "post_json"]

log = logging.getLogger(__name__)
SOURCE = "webhook"


class DeliveryError(Exception):
    """A POST that did not deliver; `retry` says whether trying again may help."""

    def __init__(self, message: str, *, retry: bool) -> None:
        super().__init__(message)
        self.retry = retry


def post_json(url: str, body: dict[str, object], *, request_id: str, timeout: float) -> None:
    """POST `body`; raises DeliveryError unless the receiver answers 2xx."""
    request = urllib.request.Request(
        url, data=json.dumps(body, default=str).encode(), method="POST",
        headers={"Content-Type": "application/json", "Idempotency-Key": request_id,
                 "User-Agent": "isthmus-webhook"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            response.read()
    except urllib.error.HTTPError as exc:
        retry = exc.code in (408, 429) or exc.code >= 500
        raise DeliveryError(f"{url} answered HTTP {exc.code} {exc.reason}",
                            retry=retry) from exc
    except (urllib.error.URLError, OSError) as exc:  # refused, DNS, timeout, reset
        reason = getattr(exc, "reason", exc)
        raise DeliveryError(f"{url} unreachable: {reason}", retry=True) from exc


@dataclass(slots=True)
class WebhookStats:
    queued: int = 0
    delivered: int = 0
    failed_attempts: int = 0
    rejected: int = 0


class WebhookDelivery:
    def __init__(self, config: WebhookConfig, outbox: Outbox, *, site: str,
                 report: Callable[[Event], Awaitable[None]] | None = None) -> None:
        self.config = config
        self.outbox = outbox
        self.site = site
        self.min_severity = Severity[config.min_severity.upper()]
        self._report = report
        self._wake = asyncio.Event()
        self.stats = WebhookStats()

    def accept(self, event: Event) -> bool:
        """Queue `event` if it is severe enough (blocking: a small SQLite write; call
        `submit` from the event loop)."""
        if event.severity < self.min_severity or event.source == SOURCE:
            return False
        queued = self.outbox.put(event_id(event), work_request(event, site=self.site))
        self.stats.queued += queued
        return queued

    async def submit(self, event: Event) -> bool:
        """Queue `event` if it is severe enough, and wake the sender."""
        queued = await asyncio.to_thread(self.accept, event)
        if queued:
            self._wake.set()
        return queued

    def _post(self, pending: Pending) -> None:
        post_json(self.config.url, pending.body, request_id=pending.request_id,
                  timeout=self.config.timeout)

    async def deliver(self, stop: asyncio.Event) -> None:
        """Send the outbox's requests in order until `stop` is set."""
        backoff = self.config.backoff
        while not stop.is_set():
            self._wake.clear()  # before looking: a request queued after this wakes us
            pending = await asyncio.to_thread(self.outbox.head)
            if pending is None:
                await _first(self._wake, stop, timeout=None)
                continue
            if await self._attempt(pending):
                backoff = self.config.backoff
                continue
            await _first(stop, timeout=backoff)
            backoff = min(backoff * 2, self.config.max_backoff)

    async def _attempt(self, pending: Pending) -> bool:
        """One POST; True when the request left the outbox (delivered or refused)."""
        try:
            await asyncio.to_thread(self._post, pending)
        except DeliveryError as exc:
            if not exc.retry:
                await asyncio.to_thread(self.outbox.reject, pending.seq, str(exc))
                self.stats.rejected += 1
                await self._tell(f"webhook refused work request {pending.request_id}: {exc}",
                                 Severity.HIGH)
                return True
            self.stats.failed_attempts += 1
            attempts = await asyncio.to_thread(self.outbox.failed, pending.seq, str(exc))
            if attempts == self.config.retries:
                await self._tell(f"webhook: work request {pending.request_id} not delivered "
                                 f"after {attempts} attempts ({exc}); still retrying",
                                 Severity.MEDIUM)
            return False
        await asyncio.to_thread(self.outbox.delivered, pending.seq)
        self.stats.delivered += 1
        return True

    async def _tell(self, message: str, severity: Severity) -> None:
        log.warning("%s", message)
        if self._report is not None:
            with contextlib.suppress(BusClosedError):
                await self._report(Event(now_ns(), EventKind.SYSTEM, severity, message,
                                         source=SOURCE))

    async def run(self, subscription: Subscription) -> WebhookStats:
        """Queue the subscription's events until the bus closes, delivering meanwhile;
        what is still queued at the end waits in the outbox for the next start."""
        stop = asyncio.Event()
        async with asyncio.TaskGroup() as group:
            group.create_task(self.deliver(stop))
            try:
                while (message := await subscription.get()) is not None:
                    if isinstance(message, Event):
                        await self.submit(message)
            finally:
                stop.set()
        return self.stats


async def _first(*events: asyncio.Event, timeout: float | None) -> None:
    """Wait until one of `events` is set, or `timeout` seconds."""
    waiters = [asyncio.create_task(e.wait()) for e in events]
    try:
        await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
        await asyncio.gather(*waiters, return_exceptions=True)
