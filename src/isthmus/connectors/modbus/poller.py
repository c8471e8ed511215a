"""One link (a Modbus/TCP endpoint host:port): a single serialised request loop that polls
every device and unit behind it, survives dead units, lost connections and its own bugs.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from isthmus.config.schema import ModbusDeviceConfig
from isthmus.connectors.modbus.adapter import ModbusClientAdapter
from isthmus.connectors.modbus.breaker import Backoff, UnitBreaker
from isthmus.connectors.modbus.decoding import decode_request
from isthmus.connectors.modbus.errors import (
    ModbusConnectionError,
    ModbusError,
    ModbusExceptionResponse,
    ModbusProtocolError,
    ModbusTimeout,
)
from isthmus.connectors.modbus.fingerprint import ConfigWatch
from isthmus.connectors.modbus.health import LinkStats
from isthmus.connectors.modbus.planner import ReadRequest, RequestPlan, ScanGroup
from isthmus.connectors.modbus.ratelimit import TokenBucket
from isthmus.connectors.modbus.rbe import ReportByException
from isthmus.connectors.modbus.scheduler import CycleScheduler
from isthmus.model import Event, EventKind, Quality, SampleBatch, Severity

__all__ = ["DeviceRuntime", "LinkPoller", "PollOptions", "quality_for"]

log = logging.getLogger(__name__)

EmitSamples = Callable[[SampleBatch], Awaitable[None]]
EmitEvent = Callable[[Event], Awaitable[None]]
_EXCEEDED = np.uint32(Quality.UNCERTAIN_ENGINEERING_UNITS_EXCEEDED)


@dataclass(frozen=True)
class PollOptions:
    """Tuning knobs of a link (defaults suit a plant; tests shorten them)."""

    breaker_threshold: int = 3
    unit_backoff_base_s: float = 1.0
    unit_backoff_cap_s: float = 60.0
    reconnect_base_s: float = 0.5
    reconnect_cap_s: float = 30.0
    max_silence_s: float = 60.0
    link_timeouts_before_reconnect: int = 6


def quality_for(exc: ModbusError) -> Quality:
    """The OPC UA status code samples get when a read fails with `exc`."""
    if isinstance(exc, ModbusTimeout):
        return Quality.BAD_TIMEOUT
    if isinstance(exc, ModbusConnectionError):
        return Quality.BAD_NOT_CONNECTED
    if isinstance(exc, ModbusExceptionResponse):
        if exc.is_configuration_error:
            return Quality.BAD_CONFIGURATION_ERROR
        if exc.code in ModbusExceptionResponse.GATEWAY_CODES:
            return Quality.BAD_NO_COMMUNICATION
        if exc.code == 0x04:
            return Quality.BAD_DEVICE_FAILURE
    return Quality.BAD_COMMUNICATION_ERROR


@dataclass(eq=False)
class DeviceRuntime:
    """A device's plan and its run-time state on the link."""

    config: ModbusDeviceConfig
    plan: RequestPlan
    bucket: TokenBucket
    breakers: dict[int, UnitBreaker]
    unit_assets: dict[int, str]
    rbe: ReportByException
    watch: ConfigWatch | None = None   # device configuration integrity, when configured

    def readable(self, unit_id: int | None = None) -> tuple[npt.NDArray[np.intp],
                                                            npt.NDArray[np.int32]]:
        """Slots and tag ids of the points still being read (of one unit, or all)."""
        reqs = [r for r in self.plan.requests() if unit_id is None or r.unit_id == unit_id]
        if not reqs:
            return np.zeros(0, np.intp), np.zeros(0, np.int32)
        return (np.concatenate([r.slots for r in reqs]),
                np.concatenate([r.tag_ids for r in reqs]))


class _LinkDown(Exception):
    """Internal: the connection is gone; the link loop reconnects."""


class LinkPoller:
    """Polls every scan group of its devices over one connection, one request at a time."""

    def __init__(self, host: str, port: int, devices: Sequence[DeviceRuntime], *,
                 clock: Callable[[], int], rng: random.Random, options: PollOptions,
                 timeout: float) -> None:
        self.host, self.port = host, port
        self.source = f"modbus://{host}:{port}"
        self.devices = list(devices)
        self.options = options
        self.stats = LinkStats()
        self._clock = clock
        self._adapter = ModbusClientAdapter(host, port, timeout=timeout)
        self._scheduler: CycleScheduler[tuple[DeviceRuntime, ScanGroup | ConfigWatch]] = (
            CycleScheduler(rng=rng))
        self._reconnect = Backoff(options.reconnect_base_s, options.reconnect_cap_s, rng)
        self._link_up: bool | None = None
        self._link_timeouts = 0
        self._failing_groups: set[int] = set()
        self._emit_samples: EmitSamples | None = None
        self._emit_event: EmitEvent | None = None

    @property
    def units_down(self) -> int:
        return sum(b.down for d in self.devices for b in d.breakers.values())

    async def run(self, emit_samples: EmitSamples, emit_event: EmitEvent) -> None:
        """Poll until cancelled; cancellation closes the socket."""
        self._emit_samples, self._emit_event = emit_samples, emit_event
        try:
            await self._report_unreadable_at_start()
            while True:
                try:
                    await self._connect_and_poll()
                except Exception as exc:  # task boundary: the link loop never dies
                    await self._unexpected(exc, "link loop")
                    await asyncio.sleep(self._reconnect.next_delay())
        finally:
            self.stats.connected = False
            await self._adapter.close()

    async def _connect_and_poll(self) -> None:
        try:
            await self._connect()
            await self._poll_until_down()
        except _LinkDown as down:
            await self._set_link_state(False, str(down))

    # -- connection ---------------------------------------------------------------------

    async def _connect(self) -> None:
        while True:
            try:
                await self._adapter.connect()
            except ModbusConnectionError as exc:
                self.stats.last_error = str(exc)
                await self._set_link_state(False, str(exc))
                await asyncio.sleep(self._reconnect.next_delay())
                continue
            self._reconnect.reset()
            self._link_timeouts = 0
            await self._set_link_state(True, "")
            return

    async def _set_link_state(self, up: bool, error: str) -> None:
        if self._link_up is up:
            return
        if up and self._link_up is False:
            self.stats.reconnects += 1
        self._link_up = up
        self.stats.connected = up
        if up:
            await self._event(Severity.INFO, f"{self.source}: connected", state="connected")
            return
        await self._adapter.close()
        await self._event(Severity.HIGH, f"{self.source}: disconnected: {error}",
                          state="disconnected", error=error)
        for dev in self.devices:
            slots, tag_ids = dev.readable()
            await self._emit(self._bad(dev, slots, tag_ids, Quality.BAD_NOT_CONNECTED))

    # -- scheduling -----------------------------------------------------------------------

    async def _poll_until_down(self) -> None:
        loop = asyncio.get_running_loop()
        items: list[tuple[tuple[DeviceRuntime, ScanGroup | ConfigWatch], float]] = [
            ((dev, g), g.scan_rate) for dev in self.devices for g in dev.plan.groups]
        watched = [(dev, dev.watch) for dev in self.devices if dev.watch is not None]
        for dev, watch in watched:             # a baseline (or a change) at every connect
            await self._check_config(dev, watch)
        items += [((dev, watch), watch.settings.every) for dev, watch in watched]
        self._scheduler.reset(items, loop.time())
        if not items:
            await asyncio.Event().wait()  # nothing configured: idle until cancelled
        while True:
            delay = self._scheduler.next_due() - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            dev, item = self._scheduler.pop_due(loop.time())
            self.stats.overruns = self._scheduler.overruns
            if isinstance(item, ConfigWatch):
                await self._check_config(dev, item)
            else:
                await self._poll_group_guarded(dev, item)

    async def _check_config(self, dev: DeviceRuntime, watch: ConfigWatch) -> None:
        """Read the device's configuration fingerprint; a change is an integrity event.
        A failed read is reported and retried at the next period."""
        await dev.bucket.acquire()
        try:
            fingerprint = await watch.read(self._adapter)
        except ModbusConnectionError as exc:
            raise _LinkDown(str(exc)) from exc
        except ModbusError as exc:
            self.stats.last_error = str(exc)
            await self._event(Severity.MEDIUM, f"device {dev.config.name}: configuration "
                              f"check failed ({exc}); retried in {watch.settings.every:g} s",
                              asset=watch.asset, state="config_check_failed",
                              device=dev.config.name, error=str(exc))
            return
        event = watch.judge(fingerprint, self._clock())
        if event is not None and self._emit_event is not None:
            await self._emit_event(event)

    async def _poll_group_guarded(self, dev: DeviceRuntime, group: ScanGroup) -> None:
        try:
            await self._poll_group(dev, group)
            self._failing_groups.discard(id(group))
        except _LinkDown:
            raise
        except Exception as exc:  # task boundary for one poll: count, log, event, go on
            first = id(group) not in self._failing_groups
            self._failing_groups.add(id(group))
            await self._unexpected(exc, f"poll of device {dev.config.name} unit "
                                        f"{group.unit_id} ({group.scan_rate:g} s)", event=first)
            slots = np.concatenate([r.slots for r in group.requests] or [np.zeros(0, np.intp)])
            tags = np.concatenate([r.tag_ids for r in group.requests] or [np.zeros(0, np.int32)])
            try:
                await self._emit(self._bad(dev, slots, tags, Quality.BAD))
            except Exception:  # the sink itself failed; already counted above
                log.exception("%s: could not emit bad-quality samples", self.source)

    # -- one scan group ---------------------------------------------------------------------

    async def _poll_group(self, dev: DeviceRuntime, group: ScanGroup) -> None:
        loop = asyncio.get_running_loop()
        breaker = dev.breakers[group.unit_id]
        if not breaker.allows(loop.time()):
            return
        queue = deque(group.requests[:1] if breaker.down else group.requests)
        parts: list[SampleBatch] = []
        holes_before = len(dev.plan.holes)
        while queue:
            request = queue.popleft()
            try:
                data, ts = await self._read(dev, request)
            except ModbusExceptionResponse as exc:
                if not exc.is_configuration_error:
                    await self._unit_failed(dev, group, exc, parts)
                    break
                await self._unit_answered(dev, group.unit_id)
                queue.extendleft(reversed(await self._refused(dev, request, exc, parts)))
                continue
            except (ModbusTimeout, ModbusProtocolError) as exc:
                await self._unit_failed(dev, group, exc, parts)
                break
            values, quality = decode_request(request, data)
            if request.has_range:
                self.stats.range_exceeded += int(np.count_nonzero(quality == _EXCEEDED))
            parts.append(self._select(dev, request.slots, request.tag_ids, values, quality, ts))
            await self._unit_answered(dev, group.unit_id)
            hole = dev.plan.record_success(request)
            if hole is not None:
                log.info("%s device %s: unit %d %s %d..%d is unreadable; merged reads no "
                         "longer span it", self.source, dev.config.name, hole.unit_id,
                         hole.table.value, hole.start, hole.end - 1)
        if len(dev.plan.holes) != holes_before:
            dev.plan.rebuild(group)
        await self._emit(SampleBatch.concat([p for p in parts if len(p)]))

    async def _read(self, dev: DeviceRuntime,
                    request: ReadRequest) -> tuple[npt.NDArray[Any], int]:
        loop = asyncio.get_running_loop()
        await dev.bucket.acquire()
        start = loop.time()
        self.stats.request(start)
        t0 = self._clock()
        try:
            data = await self._adapter.read(request.table, request.start, request.count,
                                            request.unit_id, timeout=request.timeout)
        except ModbusConnectionError as exc:
            self.stats.last_error = str(exc)
            raise _LinkDown(str(exc)) from exc
        except ModbusTimeout as exc:
            self.stats.timeouts += 1
            self.stats.last_error = str(exc)
            self._link_timeouts += 1
            if self._link_timeouts >= self.options.link_timeouts_before_reconnect:
                raise _LinkDown(f"{self._link_timeouts} requests in a row got no response; "
                                "reconnecting with a fresh connection") from exc
            raise
        except ModbusExceptionResponse as exc:
            self.stats.exceptions += 1
            self.stats.last_error = str(exc)
            raise
        except ModbusProtocolError as exc:
            self.stats.last_error = str(exc)
            raise
        t1 = self._clock()
        self._link_timeouts = 0
        self.stats.response(loop.time() - start, len(request.points), loop.time())
        return data, (t0 + t1) // 2  # source time: midpoint of request and response

    async def _unit_answered(self, dev: DeviceRuntime, unit_id: int) -> None:
        if dev.breakers[unit_id].record_success():
            await self._event(Severity.INFO, f"device {dev.config.name} unit {unit_id}: "
                              "responding again", asset=dev.unit_assets[unit_id],
                              state="unit_up", device=dev.config.name, unit_id=unit_id)

    async def _unit_failed(self, dev: DeviceRuntime, group: ScanGroup, exc: ModbusError,
                           parts: list[SampleBatch]) -> None:
        loop = asyncio.get_running_loop()
        breaker = dev.breakers[group.unit_id]
        quality = quality_for(exc)
        if breaker.record_failure(loop.time()):
            await self._event(
                Severity.HIGH, f"device {dev.config.name} unit {group.unit_id}: down after "
                f"{breaker.failures} failed requests ({exc}); retrying with backoff while "
                "the other units keep being polled", asset=dev.unit_assets[group.unit_id],
                state="unit_down", device=dev.config.name, unit_id=group.unit_id,
                error=str(exc))
            slots, tag_ids = dev.readable(group.unit_id)
        else:
            slots = np.concatenate([r.slots for r in group.requests])
            tag_ids = np.concatenate([r.tag_ids for r in group.requests])
        parts.append(self._bad(dev, slots, tag_ids, quality))

    async def _refused(self, dev: DeviceRuntime, request: ReadRequest,
                       exc: ModbusExceptionResponse,
                       parts: list[SampleBatch]) -> list[ReadRequest]:
        """A configuration exception (01/02/03): split a merged read, or give up on a
        single point for good. Returns the reads to try next, in this same cycle."""
        if len(request.points) > 1:
            halves = dev.plan.split(request)
            log.info("%s: %s refused (%s); split into %s", self.source, request.describe(),
                     exc.code_name, ", ".join(h.describe() for h in halves))
            return halves
        reason = f"device answered exception {exc.code:#04x} ({exc.code_name})"
        hole = dev.plan.mark_unreadable(request, reason)
        parts.append(self._bad(dev, request.slots, request.tag_ids,
                               Quality.BAD_CONFIGURATION_ERROR))
        point = request.points[0]
        await self._event(
            Severity.MEDIUM, f"{point.path}: unreadable, {reason} for unit {hole.unit_id} "
            f"{hole.table.value} {hole.start}..{hole.end - 1}; it will not be requested "
            "again until the configuration is reloaded", tag=point.path,
            asset=dev.unit_assets[point.unit_id], state="point_unreadable",
            device=dev.config.name, unit_id=point.unit_id, address=point.start,
            code=exc.code)
        return []

    async def _report_unreadable_at_start(self) -> None:
        for dev in self.devices:
            by_slot = {p.slot: p for p in dev.plan.points}
            slots = np.array(sorted(dev.plan.unreadable), dtype=np.intp)
            if not len(slots):
                continue
            tag_ids = np.array([by_slot[s].tag_id for s in slots], dtype=np.int32)
            await self._emit(self._bad(dev, slots, tag_ids, Quality.BAD_CONFIGURATION_ERROR))
            for slot in slots:
                p = by_slot[int(slot)]
                await self._event(Severity.MEDIUM, f"{p.path}: not polled: "
                                  f"{dev.plan.unreadable[int(slot)]}", tag=p.path,
                                  asset=dev.unit_assets[p.unit_id], state="point_unreadable",
                                  device=dev.config.name, unit_id=p.unit_id)

    # -- samples and events -------------------------------------------------------------------

    def _select(self, dev: DeviceRuntime, slots: npt.NDArray[np.intp],
                tag_ids: npt.NDArray[np.int32], values: npt.NDArray[np.float64],
                quality: npt.NDArray[np.uint32], ts: int) -> SampleBatch:
        mask = dev.rbe.select(slots, values, quality, ts)
        n = int(np.count_nonzero(mask))
        return SampleBatch(tag_ids[mask], np.full(n, ts, np.int64), values[mask],
                           quality[mask], np.full(n, self._clock(), np.int64))

    def _bad(self, dev: DeviceRuntime, slots: npt.NDArray[np.intp],
             tag_ids: npt.NDArray[np.int32], quality: Quality) -> SampleBatch:
        values = np.full(len(slots), np.nan)
        qualities = np.full(len(slots), int(quality), np.uint32)
        return self._select(dev, slots, tag_ids, values, qualities, self._clock())

    async def _emit(self, batch: SampleBatch) -> None:
        if len(batch) and self._emit_samples is not None:
            await self._emit_samples(batch)

    async def _event(self, severity: Severity, message: str, *, asset: str | None = None,
                     tag: str | None = None, **data: Any) -> None:
        if self._emit_event is None:
            return
        await self._emit_event(Event(ts=self._clock(), kind=EventKind.SYSTEM,
                                     severity=severity, message=message, source=self.source,
                                     asset=asset, tag=tag, data=data))

    async def _unexpected(self, exc: Exception, where: str, *, event: bool = True) -> None:
        self.stats.unexpected_errors += 1
        self.stats.last_error = f"{where}: {exc.__class__.__name__}: {exc}"
        log.error("%s: unexpected error in %s; polling continues", self.source, where,
                  exc_info=exc)
        if event:
            try:
                await self._event(Severity.HIGH, f"{self.source}: unexpected "
                                  f"{exc.__class__.__name__} in {where}: {exc}; polling "
                                  "continues", state="poll_error", error=repr(exc))
            except Exception:  # the event sink failed too: logged, never fatal
                log.exception("%s: could not emit the error event", self.source)
