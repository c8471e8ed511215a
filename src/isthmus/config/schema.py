"""The site file's schema: enterprise/site hierarchy, historian, device templates, devices.

Pydantic models with `extra="forbid"`, so that a misspelled key is an error, never ignored.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from isthmus.config.alarms import AlarmConfig, check_alarm_references
from isthmus.config.anomaly import AnalyticsConfig, check_anomaly_references
from isthmus.config.efficiency import (
    EnergyConfig,
    MaintenanceConfig,
    OeeConfig,
    ShiftConfig,
    SpcConfig,
    SpecLimits,
    check_efficiency_references,
    check_timezone,
)
from isthmus.config.health import HealthConfig, check_health_references
from isthmus.config.security import SecurityMonitorConfig
from isthmus.integrity.sensors.settings import IntegrityConfig, check_relation_tags
from isthmus.integrity.witness import checked_witness_url
from isthmus.model import DataType, Tag, validate_tag_path

_NAME = r"^[a-z0-9][a-z0-9_-]*$"
_ASSET_PATH = r"^[a-z0-9][a-z0-9_-]*(/[a-z0-9][a-z0-9_-]*){3}$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RegisterTable(enum.StrEnum):
    COIL = "coil"
    DISCRETE_INPUT = "discrete_input"
    HOLDING_REGISTER = "holding_register"
    INPUT_REGISTER = "input_register"

    @property
    def is_bit(self) -> bool:
        return self in (RegisterTable.COIL, RegisterTable.DISCRETE_INPUT)


class Order(enum.StrEnum):
    BIG = "big"
    LITTLE = "little"


class PointConfig(_Strict):
    """One Modbus value: where it lives, how it is encoded, and what it means."""

    table: RegisterTable = RegisterTable.HOLDING_REGISTER
    address: Annotated[int, Field(ge=0, le=65535)]
    type: DataType = DataType.UINT16
    byte_order: Order = Order.BIG
    word_order: Order = Order.BIG
    scale: float = 1.0
    offset: float = 0.0
    unit: str = ""
    range: tuple[float, float] | None = None
    deadband: Annotated[float, Field(ge=0)] = 0.0
    scan_rate: Annotated[float, Field(gt=0, le=86400)] | None = None
    description: str = ""
    spec: SpecLimits | None = Field(default=None, description="quality spec limits (SPC)")

    @model_validator(mode="after")
    def _bits_are_bool(self) -> PointConfig:
        if self.table.is_bit and self.type != DataType.BOOL:
            raise ValueError(f"a {self.table.value} holds one bit: type must be bool, "
                             f"not {self.type.value}")
        if not self.table.is_bit and self.type == DataType.BOOL:
            raise ValueError(f"type bool needs table coil or discrete_input, "
                             f"not {self.table.value}")
        if self.range is not None and self.range[0] > self.range[1]:
            raise ValueError(f"range low {self.range[0]} is above high {self.range[1]}")
        return self

    @property
    def register_count(self) -> int:
        """Registers (or bits) the value occupies."""
        return {DataType.INT32: 2, DataType.UINT32: 2, DataType.FLOAT32: 2,
                DataType.INT64: 4, DataType.UINT64: 4, DataType.FLOAT64: 4}.get(self.type, 1)


class TemplateConfig(_Strict):
    """A register map defined once and instantiated per device."""

    description: str = ""
    kind: str = "plc"
    tags: dict[Annotated[str, Field(pattern=_NAME)], PointConfig]


class UnitConfig(_Strict):
    """One Modbus unit (slave id) behind a link, named by its ISA-95 asset path."""

    unit_id: Annotated[int, Field(ge=0, le=247)]
    path: Annotated[str, Field(pattern=_ASSET_PATH, description="area/line/cell/asset")]
    template: str | None = None
    tags: dict[Annotated[str, Field(pattern=_NAME)], PointConfig] = {}
    simulate: str | None = Field(default=None,
                                 description="physics model serving this unit in `isthmus sim`")
    timeout: Annotated[float, Field(gt=0, le=60)] | None = None


class ChecksumRegisterConfig(_Strict):
    """Where a device keeps a number that changes with its program (a checksum or a
    program version), read by function 3 or 4."""

    unit_id: Annotated[int, Field(ge=0, le=247)] | None = Field(
        default=None, description="default: the device's first unit")
    table: Literal["holding_register", "input_register"] = "holding_register"
    address: Annotated[int, Field(ge=0, le=65532)]
    type: Literal["uint16", "uint32", "uint64"] = "uint32"
    word_order: Order = Order.BIG

    @property
    def register_count(self) -> int:
        return {"uint16": 1, "uint32": 2, "uint64": 4}[self.type]


class ConfigIntegrityConfig(_Strict):
    """Device configuration integrity: every `every` seconds the gateway reads the
    device's identification (FC 43/14, basic and regular objects) and its program checksum
    register, and raises an integrity event when they change (docs/integrity.md)."""

    every: Annotated[float, Field(gt=0, le=7 * 86400)] = 3600.0
    device_id: bool = True
    checksum_register: ChecksumRegisterConfig | None = None


class ModbusDeviceConfig(_Strict):
    """A Modbus/TCP endpoint (a PLC, or a gateway with many units behind it)."""

    name: Annotated[str, Field(pattern=_NAME)]
    protocol: Literal["modbus"] = "modbus"
    host: str
    port: Annotated[int, Field(ge=1, le=65535)] = 502
    timeout: Annotated[float, Field(gt=0, le=60)] = 1.0
    scan_rate: Annotated[float, Field(gt=0, le=86400)] = 1.0
    max_requests_per_second: Annotated[float, Field(gt=0)] = 100.0
    max_gap: Annotated[int, Field(ge=0, le=100)] = 16
    max_registers: Annotated[int, Field(ge=1, le=125)] = 125
    max_bits: Annotated[int, Field(ge=1, le=2000)] = 2000
    units: list[UnitConfig]
    config_integrity: ConfigIntegrityConfig | None = None

    @field_validator("units")
    @classmethod
    def _unique_units(cls, units: list[UnitConfig]) -> list[UnitConfig]:
        seen: set[int] = set()
        for unit in units:
            if unit.unit_id in seen:
                raise ValueError(f"unit_id {unit.unit_id} appears twice")
            seen.add(unit.unit_id)
        return units


class OpcUaConfigIntegrityConfig(_Strict):
    """OPC UA server configuration integrity: every `every` seconds the gateway reads the
    server's BuildInfo and the certificate its endpoints present (security mode None,
    read-only), and raises an integrity event when they change (docs/integrity.md)."""

    every: Annotated[float, Field(gt=0, le=7 * 86400)] = 3600.0
    timeout: Annotated[float, Field(gt=0, le=60)] = 5.0


class OpcUaServerConfig(_Strict):
    """An OPC UA server the gateway watches (it reads no tags from it yet)."""

    name: Annotated[str, Field(pattern=_NAME)]
    endpoint: Annotated[str, Field(pattern=r"^opc\.tcp://[^/:\s]+:[0-9]{1,5}(/\S*)?$",
                                   description="opc.tcp://host:port[/path]")]
    asset: Annotated[str, Field(pattern=_ASSET_PATH, description="area/line/cell/asset")]
    config_integrity: OpcUaConfigIntegrityConfig | None = OpcUaConfigIntegrityConfig()

    @field_validator("endpoint")
    @classmethod
    def _port_in_range(cls, endpoint: str) -> str:
        port = int(endpoint.split("://", 1)[1].split("/", 1)[0].rsplit(":", 1)[1])
        if not 1 <= port <= 65535:
            raise ValueError(f"endpoint {endpoint}: port {port} is out of range 1–65535")
        return endpoint


class HistorianConfig(_Strict):
    url: str | None = Field(default=None, description="sqlite:///PATH or postgresql://…; "
                            "default: sqlite in the data directory")
    retention_days: Annotated[float, Field(gt=0)] | None = None
    witnesses: list[Annotated[str, AfterValidator(checked_witness_url)]] = Field(
        default=[], description="where each signed ledger checkpoint is published "
        "(docs/integrity.md, witnesses)")


class SiteConfig(_Strict):
    enterprise: Annotated[str, Field(pattern=_NAME)]
    site: Annotated[str, Field(pattern=_NAME)]
    description: str = ""
    historian: HistorianConfig = HistorianConfig()
    templates: dict[Annotated[str, Field(pattern=_NAME)], TemplateConfig] = {}
    devices: list[ModbusDeviceConfig] = []
    opcua_servers: list[OpcUaServerConfig] = Field(
        default=[], description="OPC UA servers whose configuration is watched "
        "(docs/integrity.md)")
    alarms: list[AlarmConfig] = []
    timezone: str = "UTC"
    shifts: list[ShiftConfig] = []
    spc: SpcConfig = SpcConfig()
    oee: OeeConfig = OeeConfig()
    energy: EnergyConfig = EnergyConfig()
    maintenance: MaintenanceConfig = MaintenanceConfig()
    integrity: IntegrityConfig | None = Field(
        default=None, description="sensor-tamper detectors and relations (docs/integrity.md)")
    analytics: AnalyticsConfig = Field(
        default=AnalyticsConfig(), description="anomaly detection groups (docs/analytics.md)")
    security_monitor: SecurityMonitorConfig | None = Field(
        default=None, description="the passive security monitor run by the gateway "
        "(docs/security-monitor.md); absent = off")
    health: HealthConfig = Field(
        default=HealthConfig(), description="asset health index and remaining useful life "
        "(docs/analytics.md, Predictive maintenance)")

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        return check_timezone(value)

    @field_validator("alarms")
    @classmethod
    def _alarm_tags_exist(cls, alarms: list[AlarmConfig],
                          info: ValidationInfo) -> list[AlarmConfig]:
        data = info.data
        if not alarms or not {"enterprise", "site", "templates", "devices"} <= data.keys():
            return alarms  # the invalid parts are reported on their own
        templates: dict[str, TemplateConfig] = data["templates"]
        prefix = f"{data['enterprise']}/{data['site']}"
        known = {f"{prefix}/{unit.path}/{signal}"
                 for device in data["devices"] for unit in device.units
                 for signal in [*(templates[unit.template].tags if unit.template in templates
                                  else ()), *unit.tags]}
        check_alarm_references(alarms, prefix, known)
        return alarms

    @model_validator(mode="after")
    def _anomaly_tags_exist(self) -> SiteConfig:
        if self.analytics.anomaly:
            check_anomaly_references(self.analytics.anomaly, f"{self.enterprise}/{self.site}",
                                     {t.path for t in self.tags()})
        return self

    @model_validator(mode="after")
    def _health_tags_exist(self) -> SiteConfig:
        if self.health.assets:
            check_health_references(self.health, f"{self.enterprise}/{self.site}",
                                    {t.path for t in self.tags()},
                                    [g.name for g in self.analytics.anomaly])
        return self

    @model_validator(mode="after")
    def _references_resolve(self) -> SiteConfig:
        names: set[str] = set()
        for device in self.devices:
            if device.name in names:
                raise ValueError(f"device name {device.name!r} appears twice")
            names.add(device.name)
            for unit in device.units:
                if unit.template is not None and unit.template not in self.templates:
                    known = ", ".join(sorted(self.templates)) or "none defined"
                    raise ValueError(f"device {device.name} unit {unit.unit_id}: unknown "
                                     f"template {unit.template!r} (templates: {known})")
        for server in self.opcua_servers:  # one namespace of device names for all kinds
            if server.name in names:
                raise ValueError(f"opcua_servers: name {server.name!r} is already used by "
                                 f"another device or server")
            names.add(server.name)
        check_efficiency_references(self.spc, self.oee, self.energy,
                                    f"{self.enterprise}/{self.site}",
                                    {t.path for t in self.tags()})
        if self.integrity is not None:
            check_relation_tags(self.integrity, f"{self.enterprise}/{self.site}",
                                {t.path for t in self.tags()})
        return self

    def unit_points(self, device: ModbusDeviceConfig,
                    unit: UnitConfig) -> dict[str, PointConfig]:
        """The unit's points: its template's, then its own (which override by name)."""
        points = dict(self.templates[unit.template].tags) if unit.template else {}
        points.update(unit.tags)
        return points

    def tag_path(self, unit: UnitConfig, signal: str) -> str:
        return validate_tag_path(f"{self.enterprise}/{self.site}/{unit.path}/{signal}")

    def on_hosts(self, host_prefix: str, *,
                 port_of: Callable[[str], int] | None = None) -> SiteConfig:
        """The same site with device i listening on `host_prefix`+i (and, if given, on the
        port `port_of(host)` picks), so two plants can share one machine's loopback."""
        data = self.model_dump(mode="json")
        for i, device in enumerate(data["devices"], start=1):
            device["host"] = f"{host_prefix}{i}"
            if port_of is not None:
                device["port"] = port_of(device["host"])
        return SiteConfig.model_validate(data)

    def tags(self) -> list[Tag]:
        """Every configured tag, templates expanded, in configuration order."""
        out: list[Tag] = []
        for device in self.devices:
            for unit in device.units:
                for signal, point in self.unit_points(device, unit).items():
                    out.append(tag_of(self, device, unit, signal, point))
        return out


def tag_of(site: SiteConfig, device: ModbusDeviceConfig, unit: UnitConfig, signal: str,
           point: PointConfig) -> Tag:
    low, high = point.range if point.range else (None, None)
    return Tag(
        path=site.tag_path(unit, signal),
        unit=point.unit,
        data_type=point.type,
        low=low,
        high=high,
        deadband=point.deadband,
        scan_rate_s=point.scan_rate or device.scan_rate,
        description=point.description,
        source={"connector": "modbus", "device": device.name, "host": device.host,
                "port": device.port, "unit_id": unit.unit_id, "table": point.table.value,
                "address": point.address},
    )
