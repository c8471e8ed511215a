"""Modbus Read Device Identification (function 43, MEI type 14) for the simulated devices:
basic (objects 0–2), regular (0–6) and individual-object access, in one response (the
objects are short). Pure: bytes in, bytes out.

The site file has no vendor or model per device, so a simulated device names itself:
vendor "Isthmus simulator", product code its device name, revision the package version,
product name the site description, model name its units' templates.
"""

from __future__ import annotations

from importlib import metadata

from isthmus.config.schema import SiteConfig
from isthmus.sim.protocol import ILLEGAL_DATA_ADDRESS, ILLEGAL_DATA_VALUE, exception_pdu

__all__ = ["MEI_DEVICE_ID", "device_identity", "read_device_identification"]

MEI_DEVICE_ID = 0x0E
_FUNCTION = 0x2B
_LAST_OBJECT = {1: 0x02, 2: 0x06, 3: 0x06}     # read device id code → last object id
_CONFORMITY = 0x82                              # regular level, individual access supported


def device_identity(site: SiteConfig, device_name: str) -> dict[int, str]:
    """Object id → value for the device `device_name` of `site`."""
    device = next(d for d in site.devices if d.name == device_name)
    templates = sorted({u.template for u in device.units if u.template})
    try:
        version = metadata.version("isthmus")
    except metadata.PackageNotFoundError:
        version = "0"
    return {0: "Isthmus simulator", 1: device.name, 2: version, 3: "https://isthmus.invalid",
            4: (site.description or f"{site.enterprise}/{site.site}")[:60],
            5: "+".join(templates)[:60] or "plc", 6: f"{site.enterprise}-{site.site}"}


def read_device_identification(pdu: bytes, objects: dict[int, str]) -> bytes:
    """The response PDU to a 43/14 request `pdu` (function, MEI type, code, object id)."""
    if len(pdu) != 4 or pdu[1] != MEI_DEVICE_ID:
        return exception_pdu(_FUNCTION, ILLEGAL_DATA_VALUE)
    code, first = pdu[2], pdu[3]
    if code == 4:
        if first not in objects:
            return exception_pdu(_FUNCTION, ILLEGAL_DATA_ADDRESS)
        chosen = [first]
    elif code in _LAST_OBJECT:
        start = first if first <= _LAST_OBJECT[code] else 0    # out of range: restart at 0
        chosen = [i for i in range(start, _LAST_OBJECT[code] + 1) if i in objects]
    else:
        return exception_pdu(_FUNCTION, ILLEGAL_DATA_VALUE)
    body = bytearray((_FUNCTION, MEI_DEVICE_ID, code, _CONFORMITY, 0x00, 0x00, len(chosen)))
    for object_id in chosen:
        value = objects[object_id].encode("ascii", errors="replace")[:240]
        body += bytes((object_id, len(value))) + value
    return bytes(body)
