"""examples/packaging-plant.yaml: the demo's site file stays what the docs promise."""

from __future__ import annotations

from importlib import resources

from isthmus.config.schema import RegisterTable, SiteConfig
from isthmus.model import DataType
from isthmus.sim import MODELS, Plant
from tests.sim.conftest import EXAMPLE


def test_every_unit_is_simulated_by_a_known_model(example_site: SiteConfig) -> None:
    units = [u for d in example_site.devices for u in d.units]
    assert len(units) == 5
    assert all(u.simulate in MODELS for u in units)


def test_every_tag_has_a_range_and_numeric_tags_a_deadband_or_counter(
        example_site: SiteConfig) -> None:
    for tag in example_site.tags():
        assert tag.low is not None and tag.high is not None, tag.path
        if tag.data_type != DataType.BOOL and tag.signal not in (
                "setpoint", "tolerance", "state", "good_count", "reject_count", "kwh",
                "run_hours"):
            assert tag.deadband > 0, tag.path


def test_plant_mixes_types_orders_and_tables(example_site: SiteConfig) -> None:
    points = [p for d in example_site.devices for u in d.units
              for p in example_site.unit_points(d, u).values()]
    assert {p.type for p in points} == {DataType.INT16, DataType.UINT16, DataType.INT32,
                                        DataType.UINT32, DataType.FLOAT32, DataType.BOOL}
    floats = {p.word_order.value for p in points if p.type == DataType.FLOAT32}
    assert floats == {"big", "little"}
    assert {p.table for p in points} == set(RegisterTable)
    assert any(p.offset for p in points) and any(p.scale != 1 for p in points)


def test_demo_paths_exist(example_site: SiteConfig) -> None:
    paths = {t.path for t in example_site.tags()}
    assert {"acme/lyon/packaging/line1/conveyor/motor/speed",
            "acme/lyon/packaging/line1/filler/filler/fill_weight",
            "acme/lyon/utilities/water/pumping/pump/flow",
            "acme/lyon/utilities/water/storage/tank/level",
            "acme/lyon/utilities/power/main/meter/kwh"} <= paths
    plant = Plant(example_site)
    assert all(isinstance(plant.value(p), float) for p in paths)


def test_the_packaged_demo_site_is_the_example() -> None:
    packaged = resources.files("isthmus.sim").joinpath("sites", "packaging-plant.yaml")
    assert packaged.read_text(encoding="utf-8") == EXAMPLE.read_text(encoding="utf-8"), \
        "examples/packaging-plant.yaml must stay a link to src/isthmus/sim/sites/"
