"""Request planning: merging, limits, scan-rate classes, holes, splits, golden plans."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from isthmus.config.schema import (
    ModbusDeviceConfig,
    PointConfig,
    RegisterTable,
    SiteConfig,
    UnitConfig,
)
from isthmus.connectors.modbus.planner import (
    Hole,
    ReadRequest,
    format_plan,
    plan_requests,
    plan_site,
)
from isthmus.model import DataType

TESTCASES = Path(__file__).parents[3] / "src/isthmus/connectors/modbus/testcases"
TYPES = [DataType.UINT16, DataType.INT16, DataType.FLOAT32, DataType.UINT32, DataType.FLOAT64]


def site_with(points: dict[str, PointConfig], **device: object) -> SiteConfig:
    unit = UnitConfig(unit_id=1, path="area/line/cell/asset", tags=points)
    dev = ModbusDeviceConfig(name="plc", host="127.0.0.1", units=[unit], **device)  # type: ignore[arg-type]
    return SiteConfig(enterprise="acme", site="plant1", devices=[dev])


def hr(address: int, dtype: DataType = DataType.UINT16, **kw: object) -> PointConfig:
    return PointConfig(address=address, type=dtype, **kw)  # type: ignore[arg-type]


def spans(request: ReadRequest) -> tuple[int, int]:
    return request.start, request.count


def test_planner_merges_contiguous_and_bridges_small_gaps() -> None:
    site = site_with({"a": hr(0), "b": hr(1, DataType.FLOAT32), "c": hr(10), "d": hr(40)},
                     max_gap=16)
    plan = plan_requests(site.devices[0], site)
    assert [spans(r) for r in plan.requests()] == [(0, 11), (40, 1)]


def test_planner_respects_max_registers() -> None:
    points = {f"p{i}": hr(2 * i, DataType.FLOAT32) for i in range(100)}  # 200 registers
    site = site_with(points)
    plan = plan_requests(site.devices[0], site)
    assert [spans(r) for r in plan.requests()] == [(0, 124), (124, 76)]


def test_planner_separates_scan_rate_classes() -> None:
    site = site_with({"fast": hr(0, scan_rate=0.1), "slow": hr(1)})
    plan = plan_requests(site.devices[0], site)
    assert sorted((g.scan_rate, len(g.requests)) for g in plan.groups) == [(0.1, 1), (1.0, 1)]


def test_planner_never_spans_a_known_hole() -> None:
    site = site_with({"a": hr(0), "b": hr(5), "c": hr(9)})
    holes = [Hole(1, RegisterTable.HOLDING_REGISTER, 3, 4)]
    plan = plan_requests(site.devices[0], site, holes=holes)
    assert [spans(r) for r in plan.requests()] == [(0, 1), (5, 5)]


def test_a_point_inside_a_hole_is_unreadable() -> None:
    site = site_with({"a": hr(0), "b": hr(5, DataType.FLOAT32)})
    plan = plan_requests(site.devices[0], site,
                         holes=[Hole(1, RegisterTable.HOLDING_REGISTER, 6, 7)])
    assert [spans(r) for r in plan.requests()] == [(0, 1)]
    assert list(plan.unreadable.values()) == ["inside a known unreadable address range"]


def test_split_halves_a_request_and_both_halves_reveal_the_gap_hole() -> None:
    site = site_with({"a": hr(0), "b": hr(1), "c": hr(8), "d": hr(9)})
    plan = plan_requests(site.devices[0], site)
    (merged,) = plan.requests()
    left, right = plan.split(merged)
    assert [spans(r) for r in plan.requests()] == [(0, 2), (8, 2)]
    assert plan.record_success(left) is None
    assert plan.record_success(right) == Hole(1, RegisterTable.HOLDING_REGISTER, 2, 8)
    replanned = plan_requests(site.devices[0], site, holes=plan.holes)
    assert [spans(r) for r in replanned.requests()] == [(0, 2), (8, 2)]


def test_single_point_refusal_becomes_a_hole_and_leaves_the_plan() -> None:
    site = site_with({"a": hr(0), "b": hr(4, DataType.FLOAT32)})
    plan = plan_requests(site.devices[0], site)
    (merged,) = plan.requests()
    _, right = plan.split(merged)
    hole = plan.mark_unreadable(right, "exception 0x02")
    assert hole == Hole(1, RegisterTable.HOLDING_REGISTER, 4, 6)
    assert [spans(r) for r in plan.requests()] == [(0, 1)]
    assert plan.unreadable == {1: "exception 0x02"}
    with pytest.raises(ValueError, match="cannot be split"):
        plan.split(next(plan.requests()))


points_strategy = st.dictionaries(
    st.from_regex(r"[a-z][a-z0-9]{0,6}", fullmatch=True),
    st.builds(hr, st.integers(0, 600), st.sampled_from(TYPES)),
    min_size=1, max_size=60)
holes_strategy = st.lists(
    st.tuples(st.integers(0, 600), st.integers(0, 20)).map(
        lambda t: Hole(1, RegisterTable.HOLDING_REGISTER, t[0], t[0] + t[1])), max_size=6)


@settings(max_examples=150, deadline=None)
@given(points_strategy, holes_strategy, st.integers(4, 125), st.integers(0, 100))
def test_plan_properties(points: dict[str, PointConfig], holes: list[Hole], max_registers: int,
                         max_gap: int) -> None:
    site = site_with(points, max_registers=max_registers, max_gap=max_gap)
    plan = plan_requests(site.devices[0], site, holes=holes)
    covered = [p.slot for r in plan.requests() for p in r.points]
    # every point is read exactly once, or reported unreadable, never both
    assert sorted(covered + list(plan.unreadable)) == list(range(len(points)))
    for r in plan.requests():
        assert 1 <= r.count <= max_registers
        assert r.end <= 65536
        assert not any(h.blocks(r.start, r.end) for h in holes)
        for p in r.points:
            assert r.start <= p.start and p.end <= r.end
            offsets = {int(o) for g in r.groups for o in g.offsets}
            assert p.start - r.start in offsets


@settings(max_examples=60, deadline=None)
@given(points_strategy, st.data())
def test_splitting_keeps_every_point_exactly_once(points: dict[str, PointConfig],
                                                   data: st.DataObject) -> None:
    site = site_with(points)
    plan = plan_requests(site.devices[0], site)
    for _ in range(5):
        multi = [r for r in plan.requests() if len(r.points) > 1]
        if not multi:
            break
        plan.split(data.draw(st.sampled_from(multi)))
    covered = sorted(p.slot for r in plan.requests() for p in r.points)
    assert covered == sorted(set(range(len(points))) - set(plan.unreadable))


@pytest.mark.parametrize("case", sorted(p.name for p in TESTCASES.iterdir() if p.is_dir()))
def test_golden_plan(case: str) -> None:
    folder = TESTCASES / case
    site = SiteConfig.model_validate(yaml.safe_load((folder / "site.yaml").read_text()))
    got = format_plan(plan_site(site))
    expected_file = folder / "expected-plan.txt"
    if os.environ.get("ISTHMUS_UPDATE_GOLDEN"):
        expected_file.write_text(got)
    assert got == expected_file.read_text()
