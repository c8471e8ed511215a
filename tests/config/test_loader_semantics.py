"""Checks across the site that the schema alone cannot make."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from isthmus.config import ConfigIssue, load_site

Issues = Callable[[str], tuple[ConfigIssue, ...]]

HEAD = "enterprise: acme\nsite: s1"


def test_overlapping_points_in_one_unit(issues_of: Issues) -> None:
    (issue,) = issues_of(HEAD + """
devices:
  - name: meter
    host: 127.0.0.1
    units:
      - unit_id: 1
        path: a/b/c/meter
        tags:
          power: {address: 10, type: float32}
          energy: {address: 11, type: uint16}
""")
    assert (issue.line, issue.path) == (11, "devices[0].units[0].tags.energy")
    assert issue.message == ("'energy' (uint16 at holding_register 11) overlaps "
                             "'power' (float32 at holding_register 10–11)")


def test_same_address_in_different_tables_is_fine(site_file: Callable[[str], Path]) -> None:
    site = load_site(site_file(HEAD + """
devices:
  - name: meter
    host: 127.0.0.1
    units:
      - unit_id: 1
        path: a/b/c/meter
        tags:
          power: {address: 10, type: float32}
          power_in: {table: input_register, address: 10, type: float32}
          alarm: {table: coil, address: 10, type: bool}
"""))
    assert len(site.tags()) == 3


def test_overlap_inside_a_template_is_reported_once_at_the_template(issues_of: Issues) -> None:
    issues = issues_of(HEAD + """
templates:
  pump:
    tags:
      flow: {address: 0, type: float64}
      head: {address: 3, type: uint16}
devices:
  - name: plc
    host: 127.0.0.1
    units:
      - {unit_id: 1, path: a/b/c/p1, template: pump}
      - {unit_id: 2, path: a/b/c/p2, template: pump}
""")
    assert [(i.line, i.path) for i in issues] == [(7, "templates.pump.tags.head")]


def test_unit_point_overlapping_its_template(issues_of: Issues) -> None:
    (issue,) = issues_of(HEAD + """
templates:
  pump:
    tags:
      flow: {address: 0, type: float32}
devices:
  - name: plc
    host: 127.0.0.1
    units:
      - unit_id: 1
        path: a/b/c/p1
        template: pump
        tags:
          extra: {address: 1}
""")
    assert issue.path == "devices[0].units[0].tags.extra"


def test_unit_override_of_a_template_point_is_not_an_overlap(
        site_file: Callable[[str], Path]) -> None:
    site = load_site(site_file(HEAD + """
templates:
  pump:
    tags:
      flow: {address: 0, type: float32}
devices:
  - name: plc
    host: 127.0.0.1
    units:
      - unit_id: 1
        path: a/b/c/p1
        template: pump
        tags:
          flow: {address: 0, type: float32, unit: m3/h}
"""))
    assert site.tags()[0].unit == "m3/h"


def test_two_units_giving_the_same_tag_paths(issues_of: Issues) -> None:
    (issue,) = issues_of(HEAD + """
devices:
  - name: plc1
    host: 127.0.0.1
    units:
      - {unit_id: 1, path: a/b/c/pump, tags: {flow: {address: 0}, head: {address: 1}}}
  - name: plc2
    host: 127.0.0.2
    units:
      - {unit_id: 1, path: a/b/c/pump, tags: {flow: {address: 0}, speed: {address: 1}}}
""")
    assert (issue.line, issue.path) == (11, "devices[1].units[0].path")
    assert issue.message == ("tag path(s) 'acme/s1/a/b/c/pump/flow' already defined by "
                             "devices[0].units[0] (line 7)")


def test_two_devices_polling_the_same_unit_of_one_endpoint(issues_of: Issues) -> None:
    (issue,) = issues_of(HEAD + """
devices:
  - name: gw-a
    host: 127.0.0.9
    port: 5020
    units:
      - {unit_id: 4, path: a/b/c/x}
  - name: gw-b
    host: 127.0.0.9
    port: 5020
    units:
      - {unit_id: 4, path: a/b/c/y}
""")
    assert (issue.line, issue.path) == (13, "devices[1].units[0].unit_id")
    assert "unit_id 4 at 127.0.0.9:5020 is already polled by devices[0].units[0]" in (
        issue.message)


def test_same_unit_id_on_another_port_is_fine(site_file: Callable[[str], Path]) -> None:
    site = load_site(site_file(HEAD + """
devices:
  - {name: gw-a, host: 127.0.0.9, port: 5020, units: [{unit_id: 4, path: a/b/c/x}]}
  - {name: gw-b, host: 127.0.0.9, port: 5021, units: [{unit_id: 4, path: a/b/c/y}]}
"""))
    assert [d.port for d in site.devices] == [5020, 5021]


def test_semantic_checks_run_alongside_field_errors(issues_of: Issues) -> None:
    issues = issues_of(HEAD + """
devices:
  - name: broken
    host: 127.0.0.1
    units:
      - {unit_id: -1, path: a/b/c/x}
  - name: meter
    host: 127.0.0.2
    units:
      - {unit_id: 1, path: a/b/c/m, tags: {p: {address: 0, type: int32}, q: {address: 1}}}
""")
    assert [i.path for i in issues] == ["devices[0].units[0].unit_id",
                                        "devices[1].units[0].tags.q"]
