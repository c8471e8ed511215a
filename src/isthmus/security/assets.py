"""The inventory as `Asset` records: hosts seen on the wire, merged with the devices the
site file configures (matched on IP address), ready for the historian's asset table."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from isthmus.config.schema import ModbusDeviceConfig, SiteConfig
from isthmus.model import Asset
from isthmus.security.inventory import Host, Inventory

__all__ = ["configured_assets", "discovered_assets", "merge_assets"]

# Identity keys that Modbus 43/14 (and later CIP, S7 SZL, BACnet) answers use.
_VENDOR = ("vendor", "vendor_name")
_MODEL = ("model", "model_name", "product", "product_name", "product_code")
_FIRMWARE = ("firmware", "revision", "major_minor_revision")
_SERIAL = ("serial", "serial_number")


def _uns_path(site: SiteConfig, device: ModbusDeviceConfig) -> str:
    paths = [f"{site.enterprise}/{site.site}/{unit.path}" for unit in device.units]
    if len(paths) == 1:
        return paths[0]
    common: list[str] = []
    for segments in zip(*(p.split("/") for p in paths), strict=False):
        if len(set(segments)) != 1:
            break
        common.append(segments[0])
    return "/".join(common)


def configured_assets(site: SiteConfig) -> list[Asset]:
    """One asset per configured device: a PLC at its host, with its units' UNS paths."""
    out = []
    for device in site.devices:
        units = {str(u.unit_id): f"{site.enterprise}/{site.site}/{u.path}"
                 for u in device.units}
        out.append(Asset(id=device.name, name=device.name, kind="plc", ip=device.host,
                         uns_path=_uns_path(site, device), origin="configured",
                         properties={"protocol": device.protocol, "port": device.port,
                                     "units": units}))
    return out


def _first(identity: dict[str, str], keys: Sequence[str]) -> str:
    return next((identity[k] for k in keys if identity.get(k)), "")


def _host_asset(host: Host, inventory: Inventory) -> Asset:
    role = host.classify()
    macs = sorted(host.macs)
    vendors = {v for m in macs if (v := inventory.oui.vendor(m))}
    properties: dict[str, Any] = {
        "role_reasons": list(role.reasons), "client_of": sorted(host.client_of),
        "server_of": sorted(host.server_of), "operations": dict(sorted(host.operations.items())),
        "macs": macs}
    if vendors:
        properties["mac_vendor"] = ", ".join(sorted(vendors))
    if host.identity:
        properties["identity"] = dict(host.identity)
    identity = host.identity
    return Asset(id=f"ip:{host.ip}", name=host.ip, kind=role.name,
                 vendor=_first(identity, _VENDOR) or ", ".join(sorted(vendors)),
                 model=_first(identity, _MODEL), firmware=_first(identity, _FIRMWARE),
                 serial=_first(identity, _SERIAL), ip=host.ip,
                 mac=next((m for m in macs if m != "00:00:00:00:00:00"), None),
                 first_seen=host.first_seen, last_seen=host.last_seen, origin="discovered",
                 properties=properties)


def discovered_assets(inventory: Inventory) -> list[Asset]:
    """One asset per host seen (`ip:<address>`), its kind the inferred role."""
    return [_host_asset(h, inventory) for h in inventory.hosts.values()]


def merge_assets(configured: Sequence[Asset], discovered: Sequence[Asset]) -> list[Asset]:
    """Configured assets keep their id, name, kind and UNS path and take what the traffic
    revealed about the same IP (first/last seen, vendor, model, firmware, MAC, role);
    hosts no site device has stay as discovered assets."""
    by_ip = {a.ip: a for a in discovered if a.ip}
    merged, used = [], set()
    for asset in configured:
        seen = by_ip.get(asset.ip) if asset.ip else None
        if seen is None:
            merged.append(asset)
            continue
        used.add(seen.id)
        merged.append(replace(
            asset, vendor=asset.vendor or seen.vendor, model=asset.model or seen.model,
            firmware=asset.firmware or seen.firmware, serial=asset.serial or seen.serial,
            mac=asset.mac or seen.mac, first_seen=seen.first_seen, last_seen=seen.last_seen,
            properties={**asset.properties, "observed_role": seen.kind,
                        **{k: v for k, v in seen.properties.items()}}))
    merged.extend(a for a in discovered if a.id not in used)
    return merged
