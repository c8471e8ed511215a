"""A small line for the efficiency analytics tests (SPC, OEE, energy), with exact times."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from isthmus.config import SiteConfig
from isthmus.model import SampleBatch, TagRegistry

S = 1_000_000_000
#: 2023-11-15T00:00:00Z, a Wednesday; in Europe/Paris it is 01:00 local
T0 = 1_700_006_400 * S
PREFIX = "acme/lyon/packaging/line1/filler/filler"
METER = "acme/lyon/utilities/main/meter/meter"

BASE: dict[str, Any] = {
    "enterprise": "acme",
    "site": "lyon",
    "devices": [{
        "name": "plc",
        "host": "127.0.0.1",
        "units": [
            {"unit_id": 1, "path": "packaging/line1/filler/filler", "tags": {
                "fill_weight": {"address": 0, "type": "float32",
                                "spec": {"lsl": 490, "usl": 510, "target": 500}},
                "good_count": {"address": 2, "type": "uint32"},
                "reject_count": {"address": 4, "type": "uint32"},
                "state": {"address": 6},
                "stop_reason": {"address": 7},
            }},
            {"unit_id": 2, "path": "utilities/main/meter/meter", "tags": {
                "kwh": {"address": 0, "type": "float64"},
                "kw": {"address": 4, "type": "float32"},
                "temperature": {"address": 6, "type": "float32"},
            }},
        ],
    }],
}


def site_with(**sections: Any) -> SiteConfig:
    return SiteConfig.model_validate({**BASE, **sections})


def registry_of(site: SiteConfig, *derived: Sequence[Any]) -> TagRegistry:
    registry = TagRegistry()
    for tag in site.tags():
        registry.intern(tag)
    for tags in derived:
        for tag in tags:
            registry.intern(tag)
    return registry


def batch(registry: TagRegistry, rows: Sequence[tuple[str, float, float]]) -> SampleBatch:
    """Rows of (tag path, seconds after T0, value)."""
    return SampleBatch.of([registry.id_of(r[0]) for r in rows],
                          [T0 + round(r[1] * S) for r in rows], [r[2] for r in rows])
