"""A synthetic big plant for load tests: many devices sharing one register map that mixes
every common data type, word order and table, with small address gaps, all served by the
generic random-walk model."""

from __future__ import annotations

from typing import Any

from isthmus.config.schema import SiteConfig

__all__ = ["synthetic_site"]

# (table, type, word order, scale, range): the map cycles through these kinds
_KINDS: tuple[tuple[str, str, str, float, tuple[float, float]], ...] = (
    ("holding_register", "uint16", "big", 1.0, (0, 1000)),
    ("holding_register", "int16", "big", 1.0, (-1000, 1000)),
    ("holding_register", "float32", "big", 1.0, (0, 100)),
    ("holding_register", "uint32", "big", 1.0, (0, 1_000_000)),
    ("holding_register", "int32", "little", 1.0, (-1_000_000, 1_000_000)),
    ("holding_register", "float32", "little", 1.0, (-50, 150)),
    ("input_register", "uint16", "big", 0.1, (0, 500)),
    ("input_register", "float32", "little", 1.0, (0, 10)),
    ("coil", "bool", "big", 1.0, (0, 1)),
    ("discrete_input", "bool", "big", 1.0, (0, 1)),
)
_WORDS = {"float32": 2, "uint32": 2, "int32": 2}
_GAP_EVERY = 8   # after every 8th point of a table, skip one address


def _template(tags: int) -> dict[str, Any]:
    points: dict[str, Any] = {}
    next_address: dict[str, int] = {}
    placed: dict[str, int] = {}
    for i in range(tags):
        table, data_type, word_order, scale, (low, high) = _KINDS[i % len(_KINDS)]
        address = next_address.get(table, 0)
        placed[table] = placed.get(table, 0) + 1
        gap = 1 if placed[table] % _GAP_EVERY == 0 else 0
        next_address[table] = address + _WORDS.get(data_type, 1) + gap
        point: dict[str, Any] = {"table": table, "address": address, "type": data_type,
                                 "range": [low, high]}
        if word_order != "big":
            point["word_order"] = word_order
        if scale != 1.0:
            point["scale"] = scale
        if data_type != "bool":
            point["deadband"] = (high - low) / 1000.0
        points[f"t{i:04d}"] = point
    return {"description": "synthetic register map", "kind": "plc", "tags": points}


def synthetic_site(devices: int = 50, tags_per_device: int = 100, *,
                   host_base: str = "127.0.20.", port: int = 5020,
                   units_per_device: int = 1, scan_rate: float = 1.0) -> SiteConfig:
    """`devices` devices at host_base+1, host_base+2, … each with `units_per_device` units
    sharing `tags_per_device` tags, all `simulate: random_walk`."""
    if not 1 <= devices <= 254:
        raise ValueError(f"devices={devices}: one loopback host each, so 1 to 254")
    if units_per_device < 1 or tags_per_device % units_per_device:
        raise ValueError(f"tags_per_device={tags_per_device} must split evenly over "
                         f"units_per_device={units_per_device}")
    per_unit = tags_per_device // units_per_device
    if per_unit < 1:
        raise ValueError("each unit needs at least one tag")
    return SiteConfig.model_validate({
        "enterprise": "bench",
        "site": "synthetic",
        "description": f"{devices} devices x {tags_per_device} tags of random walks",
        "templates": {"synthetic-plc": _template(per_unit)},
        "devices": [{
            "name": f"dev-{d:03d}",
            "host": f"{host_base}{d}",
            "port": port,
            "scan_rate": scan_rate,
            "units": [{"unit_id": u, "path": f"synthetic/dev-{d:03d}/rack/unit-{u}",
                       "template": "synthetic-plc", "simulate": "random_walk"}
                      for u in range(1, units_per_device + 1)],
        } for d in range(1, devices + 1)],
    })
