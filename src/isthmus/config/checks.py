"""Checks across the whole site file that field-by-field validation cannot make: references
to templates, names and unit ids used twice, colliding tag paths, overlapping registers.

They run on whatever parts of the file are valid, so that one broken device does not hide
the mistakes of the others.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from isthmus.config.messages import show, suggest
from isthmus.config.schema import ModbusDeviceConfig, PointConfig, TemplateConfig
from isthmus.config.yaml_source import Finding, Loc, format_loc

__all__ = ["reference_findings", "semantic_findings"]

LineOf = Callable[[Loc], int]


def _items(data: Any, key: str) -> list[tuple[int, dict[str, Any]]]:
    value = data.get(key) if isinstance(data, dict) else None
    if not isinstance(value, list):
        return []
    return [(i, item) for i, item in enumerate(value) if isinstance(item, dict)]


def _template_names(data: dict[str, Any]) -> list[str]:
    templates = data.get("templates")
    return [k for k in templates if isinstance(k, str)] if isinstance(templates, dict) else []


def reference_findings(data: dict[str, Any], line_of: LineOf) -> Iterator[Finding]:
    """Unknown templates and duplicate device names / unit ids, on the raw data, so that they
    are found even where other fields of the same device are invalid."""
    templates = _template_names(data)
    names: dict[str, Loc] = {}
    for i, device in _items(data, "devices"):
        name = device.get("name")
        if isinstance(name, str):
            if name in names:
                yield Finding(("devices", i, "name"),
                              f"device name {name!r} is already used by "
                              f"{format_loc(names[name])} (line {line_of(names[name])})",
                              kind="duplicate-device")
            names.setdefault(name, ("devices", i))
        yield from _unit_references(i, device, templates, line_of)


def _unit_references(i: int, device: dict[str, Any], templates: list[str],
                     line_of: LineOf) -> Iterator[Finding]:
    unit_ids: dict[int, Loc] = {}
    for j, unit in _items(device, "units"):
        loc: Loc = ("devices", i, "units", j)
        unit_id = unit.get("unit_id")
        if isinstance(unit_id, int) and not isinstance(unit_id, bool):
            if unit_id in unit_ids:
                first = unit_ids[unit_id]
                yield Finding((*loc, "unit_id"),
                              f"unit_id {unit_id} is already used in this device by "
                              f"{format_loc(first)} (line {line_of(first)})",
                              kind="duplicate-unit")
            unit_ids.setdefault(unit_id, loc)
        template = unit.get("template")
        if isinstance(template, str) and template not in templates:
            guess = suggest(template, templates)
            known = ", ".join(sorted(templates)) or "none defined"
            hint = f"did you mean {guess!r}? " if guess else ""
            yield Finding((*loc, "template"), f"unknown template {template!r}",
                          hint + f"templates in this file: {known}", kind="unknown-template")


@dataclass(frozen=True, slots=True)
class _Point:
    signal: str
    point: PointConfig
    loc: Loc
    own: bool  # defined on the unit itself, not inherited from its template


def _salvage_templates(data: dict[str, Any]) -> dict[str, TemplateConfig]:
    out: dict[str, TemplateConfig] = {}
    templates = data.get("templates")
    for name, raw in (templates.items() if isinstance(templates, dict) else ()):
        try:
            out[name] = TemplateConfig.model_validate(raw)
        except ValidationError:
            continue  # reported by the full validation
    return out


def _salvage_devices(data: dict[str, Any]) -> list[tuple[int, ModbusDeviceConfig]]:
    out = []
    for i, raw in _items(data, "devices"):
        try:
            out.append((i, ModbusDeviceConfig.model_validate(raw)))
        except ValidationError:
            continue  # reported by the full validation
    return out


def semantic_findings(data: dict[str, Any], line_of: LineOf) -> Iterator[Finding]:
    """Overlapping registers, colliding tag paths and units polled twice, over every template
    and device that is valid on its own."""
    templates = _salvage_templates(data)
    devices = _salvage_devices(data)
    for name, template in templates.items():
        points = [_Point(s, p, ("templates", name, "tags", s), True)
                  for s, p in template.tags.items()]
        yield from _overlaps(points)
    prefix = f"{data.get('enterprise')}/{data.get('site')}"
    paths: dict[str, Loc] = {}
    polled: dict[tuple[str, int, int], Loc] = {}
    for i, device in devices:
        for j, unit in enumerate(device.units):
            loc: Loc = ("devices", i, "units", j)
            points = _unit_points(templates, unit.template, unit.tags, loc)
            yield from _overlaps(points)
            yield from _path_collisions(prefix, unit.path, points, loc, paths, line_of)
            key = (device.host.lower(), device.port, unit.unit_id)
            first = polled.setdefault(key, loc)
            if first[:2] != loc[:2]:
                yield Finding((*loc, "unit_id"),
                              f"unit_id {unit.unit_id} at {device.host}:{device.port} is "
                              f"already polled by {format_loc(first)} (line {line_of(first)})",
                              "two devices must not poll the same unit of the same endpoint; "
                              "put both units under one device", kind="duplicate-binding")


def _unit_points(templates: dict[str, TemplateConfig], template: str | None,
                 tags: dict[str, PointConfig], loc: Loc) -> list[_Point]:
    merged: dict[str, _Point] = {}
    if template in templates:
        for signal, point in templates[template].tags.items():
            merged[signal] = _Point(signal, point, ("templates", template, "tags", signal), False)
    for signal, point in tags.items():
        merged[signal] = _Point(signal, point, (*loc, "tags", signal), True)
    return list(merged.values())


def _span(point: PointConfig) -> str:
    last = point.address + point.register_count - 1
    where = f"{point.address}" if last == point.address else f"{point.address}–{last}"
    return f"{point.type.value} at {point.table.value} {where}"


def _overlaps(points: list[_Point]) -> Iterator[Finding]:
    """Points of one unit whose address ranges intersect in the same table; a pair that
    lies wholly in a template is reported once, at the template."""
    ordered = sorted(points, key=lambda p: (p.point.table.value, p.point.address))
    active: list[_Point] = []
    for current in ordered:
        active = [p for p in active if p.point.table == current.point.table
                  and p.point.address + p.point.register_count > current.point.address]
        other = next((p for p in active if p.own or current.own), None)
        active.append(current)
        if other is None:
            continue
        at_point, other = (current, other) if current.own else (other, current)
        yield Finding(at_point.loc,
                      f"{at_point.signal!r} ({_span(at_point.point)}) overlaps "
                      f"{other.signal!r} ({_span(other.point)})",
                      "each register may belong to one point only; check the "
                      "addresses and types against the device's register map",
                      kind="overlap", at_key=True)


def _path_collisions(prefix: str, asset_path: str, points: list[_Point], loc: Loc,
                     paths: dict[str, Loc], line_of: LineOf) -> Iterator[Finding]:
    clashes: dict[Loc, list[str]] = {}
    for point in points:
        path = f"{prefix}/{asset_path}/{point.signal}"
        first = paths.setdefault(path, loc)
        if first != loc:
            clashes.setdefault(first, []).append(path)
    for first, clashed in clashes.items():
        shown = ", ".join(show(p, 80) for p in clashed[:3])
        more = f" and {len(clashed) - 3} more" if len(clashed) > 3 else ""
        yield Finding((*loc, "path"),
                      f"tag path(s) {shown}{more} already defined by {format_loc(first)} "
                      f"(line {line_of(first)})",
                      "every tag needs its own ISA-95 path: give this unit another asset path",
                      kind="duplicate-path")
