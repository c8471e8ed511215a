"""Modbus polling benchmark: a 5,000-tag plant on 50 Modbus/TCP servers over loopback.

Measures, in one run against the same servers: requests per cycle and tags/s with the
request planner versus one request per tag (what many gateways do); the decode path alone
on one core; and the overruns of the real connectors at a 1 s cycle for ~10 s.

    .venv/bin/python bench/modbus_poll.py [--seconds 5] [--run-seconds 10]

The servers are a minimal asyncio Modbus/TCP server (this file, `--serve`) in a
subprocess, listening on 127.0.20.1-50, so the client measured here has its own core.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import random
import struct
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable

import numpy as np

from isthmus.config.schema import (
    ModbusDeviceConfig,
    Order,
    PointConfig,
    RegisterTable,
    SiteConfig,
    UnitConfig,
)
from isthmus.connectors.modbus import build_connectors, plan_site
from isthmus.connectors.modbus.adapter import ModbusClientAdapter
from isthmus.connectors.modbus.codec import decode_value, encode_value
from isthmus.connectors.modbus.decoding import decode_request
from isthmus.connectors.modbus.planner import RequestPlan
from isthmus.connectors.modbus.rbe import ReportByException
from isthmus.model import DataType, Event, SampleBatch, TagRegistry

DEVICES = 50
HOST = "127.0.20.{}"

# per device: 100 tags = 63 registers-based (106 registers, small gaps) + 37 coils
LAYOUT: list[tuple[DataType, int]] = [
    (DataType.INT16, 15), (DataType.UINT16, 15), (DataType.FLOAT32, 20),
    (DataType.INT32, 4), (DataType.UINT32, 4), (DataType.FLOAT64, 3),
    (DataType.INT64, 1), (DataType.UINT64, 1),
]
COILS = 37


# -- the plant ------------------------------------------------------------------------------

def device_points(rng: random.Random) -> dict[str, PointConfig]:
    points: dict[str, PointConfig] = {}
    address = 0
    for dtype, count in LAYOUT:
        for i in range(count):
            order = Order.LITTLE if i % 3 == 0 else Order.BIG
            points[f"{dtype.value}_{i:02d}"] = PointConfig(
                address=address, type=dtype, word_order=order,
                scale=0.1 if dtype == DataType.INT16 else 1.0,
                deadband=0.5 if dtype == DataType.FLOAT32 else 0.0)
            address += {DataType.FLOAT64: 4, DataType.INT64: 4, DataType.UINT64: 4,
                        DataType.INT32: 2, DataType.UINT32: 2, DataType.FLOAT32: 2}.get(dtype, 1)
        address += 1  # a small gap between blocks, bridged by the planner
    for i in range(COILS):
        points[f"coil_{i:02d}"] = PointConfig(table=RegisterTable.COIL, address=i,
                                              type=DataType.BOOL)
    _ = rng
    return points


def plant(port: int, scan_rate: float = 1.0) -> SiteConfig:
    rng = random.Random(7)
    devices = [ModbusDeviceConfig(
        name=f"plc-{i:02d}", host=HOST.format(i), port=port, scan_rate=scan_rate,
        max_requests_per_second=1e6, timeout=2.0,
        units=[UnitConfig(unit_id=1, path=f"plant/line{i:02d}/cell/plc", tags=device_points(rng))])
        for i in range(1, DEVICES + 1)]
    return SiteConfig(enterprise="bench", site="site", devices=devices)


def images(site: SiteConfig) -> list[tuple[list[int], list[int]]]:
    """(holding registers, coils) per device, holding every point's encoded value."""
    rng = random.Random(11)
    out = []
    for device in site.devices:
        regs, coils = [0] * 128, [0] * 64
        for point in site.unit_points(device, device.units[0]).values():
            if point.table == RegisterTable.COIL:
                coils[point.address] = rng.randint(0, 1)
                continue
            value = rng.uniform(-1000, 1000) if "float" in point.type.value else rng.randint(0, 900)
            for k, reg in enumerate(encode_value(value, point.type, word_order=point.word_order)):
                regs[point.address + k] = reg
        out.append((regs, coils))
    return out


# -- a minimal Modbus/TCP server (subprocess) --------------------------------------------

class _ServerProtocol(asyncio.Protocol):
    def __init__(self, regs: np.ndarray, coils: np.ndarray) -> None:
        self.regs, self.coils, self.buf = regs, coils, b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        buf, out = self.buf + data, []
        while len(buf) >= 12:
            tid, _, length, unit = struct.unpack_from(">HHHB", buf)
            if len(buf) < 6 + length:
                break
            fc, addr, count = struct.unpack_from(">BHH", buf, 7)
            out.append(self._answer(tid, unit, fc, addr, count))
            buf = buf[6 + length:]
        self.buf = buf
        if out and self.transport is not None:
            self.transport.write(b"".join(out))

    def _answer(self, tid: int, unit: int, fc: int, addr: int, count: int) -> bytes:
        table = self.regs if fc in (3, 4) else self.coils
        if fc not in (1, 2, 3, 4) or addr + count > len(table):
            return struct.pack(">HHHBBB", tid, 0, 3, unit, fc | 0x80, 2)
        if fc in (3, 4):
            payload = table[addr:addr + count].astype(">u2").tobytes()
        else:
            payload = np.packbits(table[addr:addr + count], bitorder="little").tobytes()
        return struct.pack(">HHHBBB", tid, 0, 3 + len(payload), unit, fc, len(payload)) + payload


async def serve(port: int) -> None:
    site = plant(port)
    loop = asyncio.get_running_loop()
    arrays = []
    for i, (regs, coils) in enumerate(images(site), start=1):
        r, c = np.array(regs, np.uint16), np.array(coils, np.uint8)
        arrays.append(r)
        await loop.create_server(functools.partial(_ServerProtocol, r, c), HOST.format(i), port)
    print("ready", flush=True)
    tick = 0
    while True:  # some values move, so that report by exception has work to do
        await asyncio.sleep(0.5)
        tick += 1
        for r in arrays:
            r[15:20] = (r[15:20] + tick) % 900


# -- measurements ---------------------------------------------------------------------------

async def connect_all(site: SiteConfig) -> list[ModbusClientAdapter]:
    adapters = [ModbusClientAdapter(d.host, d.port, timeout=2.0) for d in site.devices]
    await asyncio.gather(*(a.connect() for a in adapters))
    return adapters


async def planned_cycle(adapter: ModbusClientAdapter, plan: RequestPlan) -> tuple[int, int]:
    """One cycle with the planner's reads: (tags decoded, requests sent)."""
    tags = requests = 0
    for r in plan.requests():
        data = await adapter.read(r.table, r.start, r.count, r.unit_id, timeout=r.timeout)
        values, _ = decode_request(r, data)
        tags += len(values)
        requests += 1
    return tags, requests


async def per_tag_cycle(adapter: ModbusClientAdapter, plan: RequestPlan) -> tuple[int, int]:
    """One cycle the way many gateways poll: one read and one decode per tag."""
    for p in plan.points:
        pt = p.point
        data = await adapter.read(pt.table, pt.address, pt.register_count, p.unit_id)
        _ = decode_value(data.tolist(), pt.type, byte_order=pt.byte_order,
                         word_order=pt.word_order) * pt.scale + pt.offset
    return len(plan.points), len(plan.points)


Cycle = Callable[[ModbusClientAdapter, RequestPlan], Awaitable[tuple[int, int]]]


async def throughput(adapters: list[ModbusClientAdapter], plans: list[RequestPlan],
                     cycle: Cycle, seconds: float) -> tuple[float, float]:
    """Back-to-back cycles on every device at once: (tags/s, requests/s)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    totals = {"tags": 0, "requests": 0}

    async def worker(adapter: ModbusClientAdapter, plan: RequestPlan) -> None:
        while loop.time() < deadline:
            tags, requests = await cycle(adapter, plan)
            totals["tags"] += tags
            totals["requests"] += requests

    start = loop.time()
    await asyncio.gather(*(worker(a, p) for a, p in zip(adapters, plans, strict=True)))
    elapsed = loop.time() - start
    return totals["tags"] / elapsed, totals["requests"] / elapsed


async def decode_only(adapters: list[ModbusClientAdapter], plans: list[RequestPlan],
                      loops: int) -> float:
    """tags/s of decode + scale + range check + report-by-exception, on responses
    fetched once; no I/O in the timed loop."""
    fetched = []
    for adapter, plan in zip(adapters, plans, strict=True):
        rbe = ReportByException([p.point.deadband for p in plan.points], max_silence_ns=60 * 10**9)
        for r in plan.requests():
            fetched.append((r, await adapter.read(r.table, r.start, r.count, r.unit_id), rbe))
    tags = sum(len(r.points) for r, _, _ in fetched)
    start = time.perf_counter()
    for i in range(loops):
        for r, data, rbe in fetched:
            values, quality = decode_request(r, data)
            rbe.select(r.slots, values, quality, i)
    return tags * loops / (time.perf_counter() - start)


async def run_connectors(site: SiteConfig, seconds: float) -> dict[str, float]:
    registry = TagRegistry()
    for tag in site.tags():
        registry.intern(tag)
    connectors = build_connectors(site, registry)
    counts = {"batches": 0, "samples": 0, "events": 0}

    async def on_samples(batch: SampleBatch) -> None:
        counts["batches"] += 1
        counts["samples"] += len(batch)

    async def on_event(_: Event) -> None:
        counts["events"] += 1

    tasks = [asyncio.create_task(c.run(on_samples, on_event)) for c in connectors]
    await asyncio.sleep(seconds)
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    health = [c.health() for c in connectors]
    p95 = [h.latency_ms_p95 for h in health if h.latency_ms_p95 is not None]
    return {"links": len(connectors), "overruns": sum(h.overruns for h in health),
            "requests": sum(h.requests for h in health),
            "timeouts": sum(h.timeouts for h in health),
            "unexpected": sum(h.unexpected_errors for h in health),
            "p95_ms": max(p95) if p95 else float("nan"), **counts}


def start_servers(port: int) -> subprocess.Popen[str]:
    proc = subprocess.Popen([sys.executable, __file__, "--serve", "--port", str(port)],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    if proc.stdout.readline().strip() != "ready":
        proc.kill()
        raise RuntimeError("benchmark servers did not start")
    return proc


async def main(seconds: float, run_seconds: float, port: int) -> None:
    site = plant(port)
    plans = plan_site(site)
    tags = sum(len(p.points) for p in plans)
    planned = sum(p.request_count for p in plans)
    adapters = await connect_all(site)
    try:
        tps_plan, rps_plan = await throughput(adapters, plans, planned_cycle, seconds)
        tps_tag, rps_tag = await throughput(adapters, plans, per_tag_cycle, seconds)
        decode_tps = await decode_only(adapters, plans, loops=400)
    finally:
        await asyncio.gather(*(a.close() for a in adapters))
    run = await run_connectors(site, run_seconds)

    print(f"\nModbus polling: {tags} tags, {len(plans)} devices on {HOST.format('1-50')}:{port}")
    print(f"{'metric':<40}{'isthmus':>14}{'one req/tag':>14}{'ratio':>10}")
    print(f"{'requests per poll cycle':<40}{planned:>14,}{tags:>14,}{tags / planned:>9.1f}x")
    print(f"{'tags/s, back-to-back cycles (50 links)':<40}{tps_plan:>14,.0f}{tps_tag:>14,.0f}"
          f"{tps_plan / tps_tag:>9.1f}x")
    print(f"{'requests/s on the wire':<40}{rps_plan:>14,.0f}{rps_tag:>14,.0f}")
    print(f"{'decode+RBE path alone, one core, tags/s':<40}{decode_tps:>14,.0f}")
    print(f"\nconnectors at 1 s cycle for {run_seconds:g} s: {run['links']} links, "
          f"{run['requests']:,} requests, overruns {run['overruns']}, timeouts "
          f"{run['timeouts']}, unexpected errors {run['unexpected']}, "
          f"{run['batches']:,} batches / {run['samples']:,} samples emitted (report by "
          f"exception), latency p95 (worst link) {run['p95_ms']:.2f} ms")


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="per throughput mode")
    parser.add_argument("--run-seconds", type=float, default=10.0)
    parser.add_argument("--port", type=int, default=15020)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        asyncio.run(serve(args.port))
        return
    servers = start_servers(args.port)
    try:
        asyncio.run(main(args.seconds, args.run_seconds, args.port))
    finally:
        servers.terminate()
        servers.wait()


if __name__ == "__main__":
    cli()
