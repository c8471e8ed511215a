"""A real pymodbus TCP server on loopback, serving register images built from site files,
with a request log, silent ("dead") unit ids, and live register updates."""

from __future__ import annotations

import asyncio
import functools
import socket
import textwrap
from dataclasses import dataclass, field
from typing import Any

import yaml
from pymodbus.pdu import ModbusPDU
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from isthmus.config.schema import RegisterTable, SiteConfig
from isthmus.connectors.modbus.codec import encode_value
from isthmus.model import TagRegistry

_TABLE_INDEX = {RegisterTable.COIL: 0, RegisterTable.DISCRETE_INPUT: 1,
                RegisterTable.HOLDING_REGISTER: 2, RegisterTable.INPUT_REGISTER: 3}
_FC_TABLE = {1: RegisterTable.COIL, 2: RegisterTable.DISCRETE_INPUT,
             3: RegisterTable.HOLDING_REGISTER, 4: RegisterTable.INPUT_REGISTER}


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def load_site(text: str) -> SiteConfig:
    return SiteConfig.model_validate(yaml.safe_load(textwrap.dedent(text)))


def registry_of(site: SiteConfig) -> TagRegistry:
    registry = TagRegistry()
    for tag in site.tags():
        registry.intern(tag)
    return registry


Image = dict[RegisterTable, dict[int, int]]


def image_of(site: SiteConfig, values: dict[str, float] | None = None) -> dict[int, Image]:
    """Register images per unit id holding every configured point (value from `values` by
    signal name, else 0), encoded as configured."""
    values = values or {}
    units: dict[int, Image] = {}
    for device in site.devices:
        for unit in device.units:
            image = units.setdefault(unit.unit_id, {t: {} for t in RegisterTable})
            for signal, point in site.unit_points(device, unit).items():
                regs = encode_value(values.get(signal, 0.0), point.type,
                                    byte_order=point.byte_order, word_order=point.word_order)
                for i, reg in enumerate(regs):
                    image[point.table][point.address + i] = reg
    return units


def _blocks(cells: dict[int, int], bits: bool) -> list[SimData]:
    """Contiguous runs of defined addresses; everything else answers exception 02."""
    out: list[SimData] = []
    run: list[int] = []
    start = 0
    for addr in sorted(cells):
        if run and addr != start + len(run):
            out.append(_sim(start, run, bits))
            run = []
        if not run:
            start = addr
        run.append(cells[addr])
    if run:
        out.append(_sim(start, run, bits))
    return out or [_sim(60000, [0], bits)]


def _sim(start: int, values: list[int], bits: bool) -> SimData:
    if bits:
        return SimData(start, values=[bool(v) for v in values], datatype=DataType.BITS)
    return SimData(start, values=values, datatype=DataType.REGISTERS)


@dataclass
class ServedRequest:
    unit_id: int
    table: RegisterTable
    address: int
    count: int


@dataclass
class ModbusTestServer:
    """pymodbus's ModbusTcpServer over real sockets. `dead` unit ids never answer."""

    host: str
    port: int
    images: dict[int, Image]
    dead: set[int] = field(default_factory=set)
    requests: list[ServedRequest] = field(default_factory=list)
    _server: ModbusTcpServer | None = None
    _pending: dict[tuple[int, RegisterTable, int], int] = field(default_factory=dict)
    _stuck: set[asyncio.Task[Any]] = field(default_factory=set)

    def set_register(self, unit_id: int, table: RegisterTable, address: int,
                     value: int) -> None:
        """Change a register; applied on the next read that touches its block."""
        self._pending[(unit_id, table, address)] = value

    def set_value(self, unit_id: int, address: int, regs: list[int],
                  table: RegisterTable = RegisterTable.HOLDING_REGISTER) -> None:
        for i, reg in enumerate(regs):
            self.set_register(unit_id, table, address + i, reg)

    async def _action(self, unit_id: int, function_code: int, start_address: int,
                      address: int, count: int, registers: list[int],
                      set_values: Any) -> None:
        if unit_id in self.dead:
            task = asyncio.current_task()
            assert task is not None
            self._stuck.add(task)
            await asyncio.Event().wait()  # never answer; cancelled at stop()
        table = _FC_TABLE.get(function_code)
        for (unit, tab, addr), value in list(self._pending.items()):
            if unit == unit_id and tab == table and not tab.is_bit:
                index = addr - start_address
                if 0 <= index < len(registers):
                    registers[index] = value
                    del self._pending[(unit, tab, addr)]

    def _trace(self, sending: bool, pdu: ModbusPDU) -> ModbusPDU:
        if not sending and pdu.function_code in _FC_TABLE:
            self.requests.append(ServedRequest(pdu.dev_id, _FC_TABLE[pdu.function_code],
                                               pdu.address, pdu.count))
        return pdu

    def _devices(self) -> list[SimDevice]:
        out = []
        for unit_id, image in sorted(self.images.items()):
            simdata = tuple(_blocks(image[t], t.is_bit) for t in
                            sorted(_TABLE_INDEX, key=_TABLE_INDEX.__getitem__))
            out.append(SimDevice(id=unit_id, simdata=simdata,  # type: ignore[arg-type]
                                 action=functools.partial(self._action, unit_id)))
        return out

    async def start(self) -> None:
        self._server = ModbusTcpServer(self._devices(), address=(self.host, self.port),
                                       trace_pdu=self._trace)
        await self._server.serve_forever(background=True)

    async def stop(self) -> None:
        for task in self._stuck:
            task.cancel()
        self._stuck.clear()
        if self._server is not None:
            server, self._server = self._server, None
            try:
                # pymodbus's shutdown has been seen to wait forever on a closing
                # connection; a test peer must never hang the suite
                await asyncio.wait_for(server.shutdown(), 5.0)
            except TimeoutError:
                if server.transport is not None:
                    server.transport.close()
        await asyncio.sleep(0.05)

    def served(self, unit_id: int | None = None) -> list[ServedRequest]:
        return [r for r in self.requests if unit_id is None or r.unit_id == unit_id]
