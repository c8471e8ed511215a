"""Device configuration integrity (the NERC CIP-010 baseline idea) for Modbus: what
identifies a device's configuration — its identification objects (FC 43/14, basic and
regular) and an optional program checksum register — read periodically; the fingerprint and
its baseline / change events are the protocol-neutral ones of `isthmus.connectors.fingerprint`.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import numpy.typing as npt

from isthmus.config.schema import ModbusDeviceConfig, Order, RegisterTable
from isthmus.connectors.fingerprint import ConfigJudge, DeviceFingerprint, stored_fingerprints
from isthmus.connectors.modbus.adapter import ModbusClientAdapter
from isthmus.model import Event

__all__ = ["OBJECT_NAMES", "ConfigWatch", "DeviceFingerprint", "checksum_of",
           "stored_fingerprints"]

#: Modbus device identification object ids (basic 0-2, regular 3-6) and their names
OBJECT_NAMES = {0: "vendor_name", 1: "product_code", 2: "revision", 3: "vendor_url",
                4: "product_name", 5: "model_name", 6: "user_application_name"}
#: MITRE ATT&CK for ICS: Module Firmware, Program Download
_FIRMWARE, _PROGRAM = "T0839", "T0843"


def checksum_of(registers: npt.NDArray[np.uint16], word_order: Order) -> int:
    words = [int(w) for w in registers]
    if word_order == Order.LITTLE:
        words.reverse()
    value = 0
    for word in words:
        value = (value << 16) | word
    return value


def _techniques(changed: Mapping[str, list[object]]) -> tuple[str, ...]:
    return tuple(t for t, hit in ((_FIRMWARE, "revision" in changed),
                                  (_PROGRAM, "checksum" in changed)) if hit)


class ConfigWatch:
    """One device's configuration, read through the link's adapter every
    `config_integrity.every` seconds."""

    def __init__(self, device: ModbusDeviceConfig, asset: str, source: str, *,
                 baseline: DeviceFingerprint | None = None) -> None:
        if device.config_integrity is None:
            raise ValueError(f"device {device.name}: no config_integrity section")
        self.device = device
        self.settings = device.config_integrity
        self.asset = asset
        self.source = source
        self._judge = ConfigJudge(device.name, asset, source, baseline=baseline,
                                  techniques=_techniques)

    @property
    def baseline(self) -> DeviceFingerprint | None:
        return self._judge.baseline

    @property
    def history(self) -> list[DeviceFingerprint]:
        return self._judge.history

    @property
    def unit_id(self) -> int:
        register = self.settings.checksum_register
        if register is not None and register.unit_id is not None:
            return register.unit_id
        return self.device.units[0].unit_id

    async def read(self, adapter: ModbusClientAdapter) -> DeviceFingerprint:
        """Read the identification and checksum (errors are the adapter's ModbusErrors)."""
        objects: dict[str, str] = {}
        if self.settings.device_id:
            raw = await adapter.read_device_identification(self.device.units[0].unit_id)
            objects = {OBJECT_NAMES.get(k, f"object_{k}"): v.decode("ascii", "replace")
                       for k, v in sorted(raw.items())}
        checksum = None
        register = self.settings.checksum_register
        if register is not None:
            words = await adapter.read(RegisterTable(register.table), register.address,
                                       register.register_count, self.unit_id)
            checksum = checksum_of(words.astype(np.uint16), register.word_order)
        return DeviceFingerprint(objects, checksum)

    def judge(self, now: DeviceFingerprint, ts: int) -> Event | None:
        """The baseline event for the first reading, an integrity event for a change."""
        return self._judge.judge(now, ts)
