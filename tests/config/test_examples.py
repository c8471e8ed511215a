"""Every site file under examples/ loads, so that the examples never rot."""

from __future__ import annotations

from pathlib import Path

import pytest

from isthmus.config import check_site, load_site

EXAMPLES = sorted((Path(__file__).parents[2] / "examples").glob("*.yaml"))


def test_there_are_examples() -> None:
    assert any(p.name == "water-utility.yaml" for p in EXAMPLES)


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_loads(path: Path) -> None:
    site = load_site(path)
    assert site.devices, f"{path.name} defines no device"
    assert site.tags()


def test_water_utility_summary() -> None:
    report = check_site(EXAMPLES[0].parent / "water-utility.yaml")
    assert report.counts() == {"devices": 4, "units": 7, "tags": 71, "links": 4}


def test_water_utility_energy_meter_sends_low_word_first() -> None:
    site = load_site(EXAMPLES[0].parent / "water-utility.yaml")
    meter = next(d for d in site.devices if d.name == "ps1-energy-meter")
    points = site.unit_points(meter, meter.units[0])
    assert {p.word_order.value for p in points.values()} == {"little"}
    assert {p.type.value for p in points.values()} == {"float32"}
