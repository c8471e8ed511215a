"""The site file: its schema, loading with errors that name file:line, and `isthmus check`."""

from isthmus.config.errors import ConfigError, ConfigIssue, SiteConfigError
from isthmus.config.loader import CheckReport, check_site, format_check_report, load_site
from isthmus.config.schema import (
    HistorianConfig,
    ModbusDeviceConfig,
    PointConfig,
    SiteConfig,
    TemplateConfig,
    UnitConfig,
)

__all__ = [
    "CheckReport",
    "ConfigError",
    "ConfigIssue",
    "HistorianConfig",
    "ModbusDeviceConfig",
    "PointConfig",
    "SiteConfig",
    "SiteConfigError",
    "TemplateConfig",
    "UnitConfig",
    "check_site",
    "format_check_report",
    "load_site",
]
