"""What identifies a simulated device's configuration, and how scenarios change it: the
program checksum register a site file may declare (`config_integrity.checksum_register`),
served by function 3 or 4, and firmware or program changes from a scenario."""

from __future__ import annotations

import struct
import zlib

from isthmus.config.schema import ModbusDeviceConfig, Order
from isthmus.sim.errors import ScenarioError
from isthmus.sim.scenario import FirmwareChange, ProgramChange

__all__ = ["DeviceChanges", "base_checksum", "checksum_reply"]

_FUNCTION = {"holding_register": 0x03, "input_register": 0x04}


def base_checksum(device: ModbusDeviceConfig) -> int:
    """The program checksum a simulated device starts with (stable per device name)."""
    return zlib.crc32(f"{device.name}:program".encode())


def checksum_reply(device: ModbusDeviceConfig, checksum: int, unit_id: int,
                   pdu: bytes) -> bytes | None:
    """The response to `pdu` if it reads exactly the device's checksum register on its
    unit, else None (the request is then answered as usual)."""
    integrity = device.config_integrity
    register = None if integrity is None else integrity.checksum_register
    if register is None or len(pdu) != 5:
        return None
    unit = register.unit_id if register.unit_id is not None else device.units[0].unit_id
    start, count = struct.unpack_from(">HH", pdu, 1)
    if (unit_id != unit or pdu[0] != _FUNCTION[register.table]
            or (start, count) != (register.address, register.register_count)):
        return None
    words = [(checksum >> (16 * i)) & 0xFFFF for i in range(count)]   # least significant first
    if register.word_order == Order.BIG:
        words.reverse()
    return bytes((pdu[0], 2 * count)) + struct.pack(f">{count}H", *words)


class DeviceChanges:
    """Scenario faults that change a device's firmware revision or program checksum;
    permanent from their start (a firmware update does not undo itself)."""

    def __init__(self, devices: dict[str, ModbusDeviceConfig], prefix: str) -> None:
        self._devices = devices
        self._prefix = prefix
        self._changes: list[tuple[FirmwareChange | ProgramChange, str]] = []

    def attach(self, index: int, fault: FirmwareChange | ProgramChange) -> None:
        name = fault.target.removeprefix(self._prefix).strip("/")
        if name not in self._devices:
            raise ScenarioError(f"faults[{index}] ({fault.kind}): target {fault.target!r} is "
                                f"not a device name of this site "
                                f"({', '.join(sorted(self._devices))})")
        self._changes.append((fault, name))

    def identity_overrides(self, device: str, t_s: float) -> dict[int, str]:
        """FC 43 objects that differ from the device's own identity at `t_s`."""
        objects: dict[int, str] = {}
        for fault, name in self._changes:   # in scenario order: the latest change wins
            if name == device and isinstance(fault, FirmwareChange) and t_s >= fault.start:
                objects[2] = fault.revision
        return objects

    def reply(self, device: str, unit_id: int, pdu: bytes, t_s: float) -> bytes | None:
        """The answer to a read of `device`'s checksum register at `t_s`, if `pdu` is one
        (cheap for the devices without one: it is on every request's path)."""
        config = self._devices.get(device)
        if config is None or config.config_integrity is None:
            return None
        return checksum_reply(config, self.checksum(device, t_s), unit_id, pdu)

    def checksum(self, device: str, t_s: float) -> int:
        value = base_checksum(self._devices[device])
        for fault, name in self._changes:
            if name == device and isinstance(fault, ProgramChange) and t_s >= fault.start:
                value = fault.checksum
        return value
