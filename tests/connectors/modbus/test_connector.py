"""The connector end to end against real pymodbus servers over loopback sockets."""

from __future__ import annotations

import asyncio
import math
from typing import Any

import pytest

from isthmus.config.schema import Order, RegisterTable
from isthmus.connectors.modbus import ModbusConnector, PollOptions, build_connectors
from isthmus.model import DataType, Quality, SampleBatch
from tests.connectors.modbus.modbus_test_server import free_port, load_site, registry_of
from tests.connectors.modbus.recording_sinks import Collector, running

FAST = PollOptions(breaker_threshold=2, unit_backoff_base_s=0.2, unit_backoff_cap_s=0.4,
                   reconnect_base_s=0.05, reconnect_cap_s=0.2, max_silence_s=60.0)


def one_device(port: int, tags: str, *, units: str = "", scan: float = 0.05,
               timeout: float = 0.2) -> str:
    return f"""
enterprise: acme
site: plant1
devices:
  - name: plc
    host: 127.0.0.1
    port: {port}
    scan_rate: {scan}
    timeout: {timeout}
    max_requests_per_second: 1000
    units:
      - unit_id: 1
        path: area/line/cell/press
        tags:
{tags}
{units}
"""


def latest(collector: Collector, registry: Any, path: str) -> tuple[float, int] | None:
    tag_id = registry.id_of(path)
    rows = collector.rows(tag_id)
    return (rows[-1][2], rows[-1][3]) if rows else None


P = "acme/plant1/area/line/cell/press/"


async def test_decodes_every_type_and_order_over_the_wire(modbus_server) -> None:  # type: ignore[no-untyped-def]
    lines, values, address = [], {}, 0
    for dtype in [t for t in DataType if t != DataType.BOOL]:
        for bo in Order:
            for wo in Order:
                name = f"{dtype.value}_{bo.value[0]}{wo.value[0]}"
                lines.append(f"          {name}: {{address: {address}, type: {dtype.value}, "
                             f"byte_order: {bo.value}, word_order: {wo.value}}}")
                values[name] = -1234.5 if dtype.value.startswith("float") else (
                    -12345 if dtype.value.startswith("int") else 54321)
                address += 4
    lines.append("          scaled: {address: 500, type: int16, scale: 0.5, offset: 10}")
    lines.append("          running: {table: coil, address: 3, type: bool}")
    lines.append("          ir: {table: input_register, address: 9, type: uint16}")
    values.update({"scaled": -8, "running": 1, "ir": 4242})
    site = load_site(one_device(free_port(), "\n".join(lines)))
    registry = registry_of(site)
    await modbus_server(site, values=values)
    collector = Collector()
    async with running(ModbusConnector(site, site.devices[0], registry, options=FAST),
                       collector):
        await collector.until(lambda: len({r[0] for r in collector.rows()}) == len(values))
    for name, value in values.items():
        expected = 10 + value * 0.5 if name == "scaled" else float(value)
        got = latest(collector, registry, P + name)
        assert got == (expected, Quality.GOOD), name


async def test_planner_merges_reads_the_server_sees(modbus_server) -> None:  # type: ignore[no-untyped-def]
    tags = "\n".join(f"          t{i}: {{address: {i * 2}, type: float32}}" for i in range(30))
    site = load_site(one_device(free_port(), tags + "\n          c: {table: coil, address: 0, "
                                "type: bool}"))
    registry = registry_of(site)
    server = await modbus_server(site)
    collector = Collector()
    connector = ModbusConnector(site, site.devices[0], registry, options=FAST)
    async with running(connector, collector):
        await collector.until(lambda: len(server.served()) >= 10)
    per_cycle = {(r.table, r.address, r.count) for r in server.served()}
    assert per_cycle == {(RegisterTable.HOLDING_REGISTER, 0, 60), (RegisterTable.COIL, 0, 1)}


async def test_planner_splits_on_illegal_address_and_remembers_the_hole(modbus_server) -> None:  # type: ignore[no-untyped-def]
    tags = """          a: {address: 0}
          b: {address: 1}
          c: {address: 6}
          d: {address: 7}
          ghost: {address: 20}"""
    site = load_site(one_device(free_port(), tags))
    registry = registry_of(site)
    server = await modbus_server(site, values={"a": 1, "b": 2, "c": 3, "d": 4})
    # the device does not define address 20 (ghost) nor 2..5
    del server.images[1][RegisterTable.HOLDING_REGISTER][20]
    await server.stop()
    await server.start()
    collector = Collector()
    connector = ModbusConnector(site, site.devices[0], registry, options=FAST)
    async with running(connector, collector):
        await collector.until(lambda: len(collector.states("point_unreadable")) == 1)
        holes = connector.plans[0].holes
        await collector.until(lambda: (2, 6) in {(h.start, h.end) for h in holes})
        seen = len(server.served())
        await collector.until(lambda: len(server.served()) >= seen + 6)
    later = server.served()[seen:]
    assert {(r.address, r.count) for r in later} == {(0, 2), (6, 2)}
    assert latest(collector, registry, P + "ghost") == (
        pytest.approx(math.nan, nan_ok=True), Quality.BAD_CONFIGURATION_ERROR)
    assert latest(collector, registry, P + "d") == (4.0, Quality.GOOD)
    (event,) = collector.states("point_unreadable")
    assert event.tag == P + "ghost" and "0x02" in event.message
    plan = connector.plans[0]
    assert {(h.start, h.end) for h in plan.holes} >= {(20, 21), (2, 6)}
    assert connector.health().holes == len(plan.holes)


async def test_breaker_keeps_other_units_flowing_while_one_is_dead(modbus_server) -> None:  # type: ignore[no-untyped-def]
    units = """      - unit_id: 2
        path: area/line/cell/dead
        tags:
          x: {address: 0}
      - unit_id: 3
        path: area/line/cell/alive
        tags:
          y: {address: 0}"""
    site = load_site(one_device(free_port(), "          a: {address: 0}", units=units))
    registry = registry_of(site)
    server = await modbus_server(site, values={"a": 1, "y": 7}, dead={2})
    collector = Collector()
    # first probe of the dead unit after >= 22.5 s: longer than any wait below may last
    slow_probe = PollOptions(breaker_threshold=2, unit_backoff_base_s=30, unit_backoff_cap_s=60)
    connector = ModbusConnector(site, site.devices[0], registry, options=slow_probe)
    async with running(connector, collector):
        await collector.until(lambda: len(collector.states("unit_down")) == 1)
        server.set_value(1, 0, [99])
        await collector.until(lambda: latest(collector, registry, P + "a") == (99.0, 0))
        requests_to_dead = len(server.served(2))
        alive_before = len(server.served(3))
        await collector.until(lambda: len(server.served(3)) >= alive_before + 20)
        assert connector.health().units_down == 1
        assert len(server.served(2)) == requests_to_dead   # demoted: skipped, not polled
    assert latest(collector, registry, "acme/plant1/area/line/cell/dead/x")[1] == (  # type: ignore[index]
        Quality.BAD_TIMEOUT)
    assert latest(collector, registry, "acme/plant1/area/line/cell/alive/y") == (7.0, 0)
    assert len(collector.states("unit_down")) == 1   # one event per change, not per probe


async def test_dead_unit_comes_back_with_one_event(modbus_server) -> None:  # type: ignore[no-untyped-def]
    site = load_site(one_device(free_port(), "          a: {address: 0}"))
    registry = registry_of(site)
    server = await modbus_server(site, values={"a": 5}, dead={1})
    collector = Collector()
    async with running(ModbusConnector(site, site.devices[0], registry, options=FAST),
                       collector):
        await collector.until(lambda: len(collector.states("unit_down")) == 1)
        server.dead.clear()
        await collector.until(lambda: len(collector.states("unit_up")) == 1)
        await collector.until(lambda: latest(collector, registry, P + "a") == (5.0, 0))
    qualities = [q for *_, q in collector.rows(registry.id_of(P + "a"))]
    assert qualities[0] == Quality.BAD_TIMEOUT and qualities[-1] == Quality.GOOD
    assert len(collector.states("unit_down")) == 1


async def test_reconnects_with_a_fresh_client_after_server_restart(modbus_server) -> None:  # type: ignore[no-untyped-def]
    site = load_site(one_device(free_port(), "          a: {address: 0}"))
    registry = registry_of(site)
    server = await modbus_server(site, values={"a": 5})
    collector = Collector()
    connector = ModbusConnector(site, site.devices[0], registry, options=FAST)
    async with running(connector, collector):
        await collector.until(lambda: latest(collector, registry, P + "a") == (5.0, 0))
        await server.stop()
        await collector.until(lambda: len(collector.states("disconnected")) == 1)
        await collector.until(
            lambda: latest(collector, registry, P + "a") is not None
            and latest(collector, registry, P + "a")[1] == Quality.BAD_NOT_CONNECTED)  # type: ignore[index]
        server.set_value(1, 0, [6])
        await server.start()
        await collector.until(lambda: latest(collector, registry, P + "a") == (6.0, 0))
        health = connector.health()
    assert [e.data["state"] for e in collector.events] == ["connected", "disconnected",
                                                           "connected"]
    assert health.connected and health.reconnects == 1


async def test_report_by_exception_honours_the_deadband(modbus_server) -> None:  # type: ignore[no-untyped-def]
    site = load_site(one_device(free_port(), "          a: {address: 0, deadband: 5}\n"
                                "          b: {address: 1}"))
    registry = registry_of(site)
    server = await modbus_server(site, values={"a": 100, "b": 1})
    collector = Collector()
    async with running(ModbusConnector(site, site.devices[0], registry, options=FAST),
                       collector):
        await collector.until(lambda: latest(collector, registry, P + "a") == (100.0, 0))
        for value in (103, 104, 102):          # inside the deadband: never emitted
            server.set_value(1, 0, [value])
            target = len(server.served()) + 2
            await collector.until(lambda t=target: len(server.served()) >= t)
        server.set_value(1, 0, [106])          # 6 > 5 from the last emitted value
        await collector.until(lambda: latest(collector, registry, P + "a") == (106.0, 0))
        server.set_value(1, 1, [2])            # b has no deadband: any change
        await collector.until(lambda: latest(collector, registry, P + "b") == (2.0, 0))
    values_a = [v for _, _, v, _ in collector.rows(registry.id_of(P + "a"))]
    assert values_a == [100.0, 106.0]
    for batch in collector.batches:
        assert (batch.ts_gateway >= batch.ts).all()


async def test_heartbeat_re_emits_unchanged_values(modbus_server) -> None:  # type: ignore[no-untyped-def]
    site = load_site(one_device(free_port(), "          a: {address: 0}"))
    registry = registry_of(site)
    await modbus_server(site, values={"a": 3})
    collector = Collector()
    options = PollOptions(max_silence_s=0.2)
    async with running(ModbusConnector(site, site.devices[0], registry, options=options),
                       collector):
        await collector.until(lambda: len(collector.rows()) >= 3)
    assert {(v, q) for _, _, v, q in collector.rows()} == {(3.0, 0)}


async def test_value_outside_range_is_kept_with_uncertain_quality(modbus_server) -> None:  # type: ignore[no-untyped-def]
    site = load_site(one_device(free_port(), "          a: {address: 0, range: [0, 100]}"))
    registry = registry_of(site)
    await modbus_server(site, values={"a": 150})
    collector = Collector()
    connector = ModbusConnector(site, site.devices[0], registry, options=FAST)
    async with running(connector, collector):
        await collector.until(lambda: latest(collector, registry, P + "a") is not None)
    assert latest(collector, registry, P + "a") == (
        150.0, Quality.UNCERTAIN_ENGINEERING_UNITS_EXCEEDED)
    assert connector.health().range_exceeded >= 1


async def test_an_exception_inside_a_poll_does_not_stop_polling(modbus_server) -> None:  # type: ignore[no-untyped-def]
    site = load_site(one_device(free_port(), "          a: {address: 0}"))
    registry = registry_of(site)
    server = await modbus_server(site, values={"a": 1})
    collector = Collector()
    calls = 0

    async def flaky_sink(batch: SampleBatch) -> None:
        nonlocal calls
        calls += 1
        if calls <= 3:
            raise RuntimeError("sink exploded")
        await collector.samples(batch)

    connector = ModbusConnector(site, site.devices[0], registry, options=FAST)
    async with running_with(connector, flaky_sink, collector):
        await collector.until(lambda: calls > 3)
        server.set_value(1, 0, [2])
        await collector.until(lambda: latest(collector, registry, P + "a") == (2.0, 0))
    health = connector.health()
    assert health.unexpected_errors >= 1
    errors = collector.states("poll_error")
    assert len(errors) == 1 and "sink exploded" in errors[0].message


def running_with(connector: ModbusConnector, sink: Any, collector: Collector) -> Any:
    class _Proxy:
        async def run(self, _samples: Any, events: Any) -> None:
            await connector.run(sink, events)
    return running(_Proxy(), collector)


async def test_build_connectors_puts_devices_sharing_an_endpoint_on_one_link(
        modbus_server) -> None:  # type: ignore[no-untyped-def]
    port = free_port()
    site = load_site(f"""
enterprise: acme
site: plant1
devices:
  - {{name: gw-a, host: 127.0.0.1, port: {port}, scan_rate: 0.05,
     units: [{{unit_id: 1, path: a/b/c/one, tags: {{v: {{address: 0}}}}}}]}}
  - {{name: gw-b, host: 127.0.0.1, port: {port}, scan_rate: 0.05,
     units: [{{unit_id: 2, path: a/b/c/two, tags: {{v: {{address: 0}}}}}}]}}
  - {{name: other, host: 127.0.0.2, port: {port},
     units: [{{unit_id: 1, path: a/b/c/three, tags: {{v: {{address: 0}}}}}}]}}
""")
    registry = registry_of(site)
    server = await modbus_server(site, values={"v": 8})
    connectors = build_connectors(site, registry, options=FAST)
    assert [c.link for c in connectors] == [f"127.0.0.1:{port}", f"127.0.0.2:{port}"]
    collector = Collector()
    async with running(connectors[0], collector):
        await collector.until(lambda: len({r[0] for r in collector.rows()}) == 2)
    assert {r.unit_id for r in server.served()} == {1, 2}
    assert all(q == 0 and v == 8.0 for _, _, v, q in collector.rows())
    assert len(collector.states("connected")) == 1   # one link, one connection


async def test_rate_limit_caps_requests_and_overruns_are_counted(modbus_server) -> None:  # type: ignore[no-untyped-def]
    text = one_device(free_port(), "          a: {address: 0}", scan=0.01).replace(
        "max_requests_per_second: 1000", "max_requests_per_second: 20")
    site = load_site(text)
    registry = registry_of(site)
    server = await modbus_server(site, values={"a": 1})
    collector = Collector()
    connector = ModbusConnector(site, site.devices[0], registry, options=FAST)
    loop = asyncio.get_running_loop()
    async with running(connector, collector):
        await collector.until(lambda: len(server.served()) >= 1)
        start, first = loop.time(), len(server.served())
        await collector.until(lambda: len(server.served()) >= first + 25)
        elapsed = loop.time() - start
        served = len(server.served()) - first
        health = connector.health()
    burst = 10  # the bucket saves up at most min(rate, 10) requests
    assert served <= burst + 20 * elapsed + 1
    assert health.overruns > 0      # 100 cycles/s wanted, 20 requests/s allowed


async def test_link_with_no_answers_reconnects_with_a_fresh_connection(modbus_server) -> None:  # type: ignore[no-untyped-def]
    site = load_site(one_device(free_port(), "          a: {address: 0}"))
    registry = registry_of(site)
    await modbus_server(site, dead={1})
    collector = Collector()
    options = PollOptions(breaker_threshold=2, unit_backoff_base_s=0.05, unit_backoff_cap_s=0.1,
                          reconnect_base_s=0.05, link_timeouts_before_reconnect=3)
    connector = ModbusConnector(site, site.devices[0], registry, options=options)
    async with running(connector, collector):
        await collector.until(lambda: len(collector.states("connected")) == 2)
    (down,) = collector.states("disconnected")
    assert "no response" in down.message
    assert connector.health().reconnects == 1


async def test_cancelling_run_is_a_clean_stop(modbus_server) -> None:  # type: ignore[no-untyped-def]
    site = load_site(one_device(free_port(), "          a: {address: 0}"))
    registry = registry_of(site)
    await modbus_server(site, values={"a": 4})
    collector = Collector()
    connector = ModbusConnector(site, site.devices[0], registry, options=FAST)
    async with running(connector, collector) as task:
        await collector.until(lambda: connector.health().connected)
    assert task.cancelled()
    assert not connector.health().connected
    assert connector.health().unexpected_errors == 0
