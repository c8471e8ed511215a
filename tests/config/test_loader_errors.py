"""load_site reports every mistake at once, each at its line and column, with a clear message."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from isthmus.config import ConfigIssue, SiteConfigError, load_site

Issues = Callable[[str], tuple[ConfigIssue, ...]]

FIVE_MISTAKES = """
enterprise: acme
site: plant1
templates:
  pump:
    tags:
      flow: {address: 100, type: float32, unit: m3/h}
devices:
  - name: plc1
    host: 127.0.10.1
    units:
      - unit_id: 300
        path: area/line/cell/pump1
        template: pump
      - unit_id: 2
        path: area/Line/cell/pump2
        template: pmup
        tags:
          temp: {adress: 5}
  - name: plc2
    host: 127.0.10.2
    port: 502
    port: 503
    units:
      - unit_id: 1
        path: area/line/cell/pump3
        tags:
          level: {address: 1, type: float}
"""


def _by_path(issues: tuple[ConfigIssue, ...]) -> dict[str, ConfigIssue]:
    return {issue.path: issue for issue in issues}


def test_five_different_mistakes_are_all_reported_at_their_lines(issues_of: Issues) -> None:
    found = _by_path(issues_of(FIVE_MISTAKES))
    expected = {
        "devices[0].units[0].unit_id": (11, "300 is out of range 0–247"),
        "devices[0].units[1].path": (15, "line segment 'Line' must be lowercase"),
        "devices[0].units[1].template": (16, "unknown template 'pmup'"),
        "devices[0].units[1].tags.temp.adress": (18, "did you mean 'address'?"),
        "devices[1].port": (22, "duplicate key 'port' (first at line 21)"),
        "devices[1].units[0].tags.level.type": (27, "'float' is not one of"),
    }
    assert found["devices[1].units[0].tags.level.type"].hint == (
        "did you mean 'float32' or 'float64'?")
    for path, (line, text) in expected.items():
        assert path in found, f"{path} not reported; got {sorted(found)}"
        assert found[path].line == line, f"{path}: line {found[path].line}, expected {line}"
        assert text in found[path].message, found[path].message


def test_report_names_file_line_column_and_field(site_file: Callable[[str], Path]) -> None:
    path = site_file(FIVE_MISTAKES)
    with pytest.raises(SiteConfigError) as caught:
        load_site(path)
    report = str(caught.value)
    assert report.startswith(f"{path}: 7 errors in the site file")
    assert f"{path}:11:18: devices[0].units[0].unit_id: unit_id 300 is out of range" in report
    assert "hint: did you mean 'pump'?" in report


def test_issues_come_in_file_order(issues_of: Issues) -> None:
    lines = [issue.line or 0 for issue in issues_of(FIVE_MISTAKES)]
    assert lines == sorted(lines)


def test_misspelled_key_suggests_the_intended_one(issues_of: Issues) -> None:
    (issue,) = issues_of("""
        enterprise: acme
        site: s1
        devices:
          - name: plc
            host: 127.0.0.1
            scan_rte: 2
            units: []
        """)
    assert (issue.line, issue.column) == (6, 5)
    assert issue.message == "unknown key 'scan_rte'; did you mean 'scan_rate'?"
    assert issue.hint is not None and "max_requests_per_second" in issue.hint


def test_misspelled_top_level_key(issues_of: Issues) -> None:
    (issue,) = issues_of("enterprise: acme\nsite: s1\ndevice: []\n")
    assert (issue.line, issue.path) == (3, "device")
    assert "did you mean 'devices'?" in issue.message


def test_unit_id_out_of_range_shows_value_and_range(issues_of: Issues) -> None:
    (issue,) = issues_of("""
        enterprise: acme
        site: s1
        devices:
          - name: plc
            host: 127.0.0.1
            units:
              - {unit_id: 300, path: a/b/c/d}
        """)
    assert issue.line == 7
    assert issue.message == "unit_id 300 is out of range 0–247"


def test_zero_timeout_names_the_exclusive_bound(issues_of: Issues) -> None:
    (issue,) = issues_of("""
        enterprise: acme
        site: s1
        devices:
          - {name: plc, host: 127.0.0.1, timeout: 0, units: []}
        """)
    assert issue.path == "devices[0].timeout"
    assert issue.message == "timeout 0 is out of range above 0 and up to 60"


def test_unknown_data_type_lists_choices(issues_of: Issues) -> None:
    (issue,) = issues_of("""
        enterprise: acme
        site: s1
        templates:
          meter:
            tags:
              power: {address: 0, type: real}
        """)
    assert issue.line == 6
    assert issue.message.startswith("type 'real' is not one of: bool, int16")


def test_uppercase_signal_name_is_reported_at_the_key(issues_of: Issues) -> None:
    (issue,) = issues_of("""
        enterprise: acme
        site: s1
        templates:
          meter:
            tags:
              Power: {address: 0}
        """)
    assert (issue.line, issue.column) == (6, 7)
    assert issue.path == "templates.meter.tags.Power"
    assert "tag name 'Power' must be lowercase" in issue.message


def test_asset_path_with_too_few_segments(issues_of: Issues) -> None:
    (issue,) = issues_of("""
        enterprise: acme
        site: s1
        devices:
          - name: plc
            host: 127.0.0.1
            units:
              - {unit_id: 1, path: area/line/pump}
        """)
    assert "has 3 segment(s); expected 4: area/line/cell/asset" in issue.message


def test_unknown_template_is_reported_with_the_known_ones(issues_of: Issues) -> None:
    (issue,) = issues_of("""
        enterprise: acme
        site: s1
        templates:
          pump: {tags: {flow: {address: 0}}}
          valve: {tags: {open: {table: coil, address: 0, type: bool}}}
        devices:
          - name: plc
            host: 127.0.0.1
            units:
              - {unit_id: 1, path: a/b/c/d, template: fan}
        """)
    assert (issue.line, issue.path) == (10, "devices[0].units[0].template")
    assert issue.message == "unknown template 'fan'"
    assert issue.hint == "templates in this file: pump, valve"


def test_unknown_template_and_bad_unit_elsewhere_are_both_reported(issues_of: Issues) -> None:
    issues = issues_of("""
        enterprise: acme
        site: s1
        devices:
          - name: plc1
            host: 127.0.0.1
            units:
              - {unit_id: 1, path: a/b/c/d, template: nope}
          - name: plc2
            host: 127.0.0.2
            units:
              - {unit_id: 999, path: a/b/c/e}
        """)
    assert [i.path for i in issues] == ["devices[0].units[0].template",
                                        "devices[1].units[0].unit_id"]


def test_duplicate_key_reports_both_lines(issues_of: Issues) -> None:
    (issue,) = issues_of("""
        enterprise: acme
        site: s1
        historian:
          retention_days: 30
          retention_days: 60
        """)
    assert (issue.line, issue.column) == (5, 3)
    assert "duplicate key 'retention_days' (first at line 4)" in issue.message


def test_yaml_merge_keys_are_not_duplicates(site_file: Callable[[str], Path]) -> None:
    site = load_site(site_file("""
        enterprise: acme
        site: s1
        templates:
          pump:
            tags:
              flow: &float {address: 0, type: float32, unit: m3/h}
              head: {<<: *float, address: 2, unit: m}
        """))
    assert site.templates["pump"].tags["head"].unit == "m"


def test_duplicate_unit_id_in_device_with_other_errors(issues_of: Issues) -> None:
    issues = issues_of("""
        enterprise: acme
        site: s1
        devices:
          - name: plc
            host: 127.0.0.1
            units:
              - {unit_id: 1, path: a/b/c/d}
              - {unit_id: 1, path: a/b/c/e}
              - {unit_id: 2, path: a/b/c/F}
        """)
    messages = {i.path: i.message for i in issues}
    assert messages["devices[0].units[1].unit_id"] == (
        "unit_id 1 is already used in this device by devices[0].units[0] (line 7)")
    assert "devices[0].units[2].path" in messages


def test_duplicate_device_name(issues_of: Issues) -> None:
    (issue,) = issues_of("""
        enterprise: acme
        site: s1
        devices:
          - {name: plc, host: 127.0.0.1, units: []}
          - {name: plc, host: 127.0.0.2, units: []}
        """)
    assert issue.line == 5
    assert issue.message == "device name 'plc' is already used by devices[0] (line 4)"


def test_missing_required_key(issues_of: Issues) -> None:
    (issue,) = issues_of("enterprise: acme\n")
    assert issue.message == "missing required key 'site'"
    assert issue.line == 1


def test_point_validator_error_is_located_at_the_point(issues_of: Issues) -> None:
    (issue,) = issues_of("""
        enterprise: acme
        site: s1
        templates:
          valve:
            tags:
              open: {table: coil, address: 3}
        """)
    assert issue.line == 6
    assert issue.message == "a coil holds one bit: type must be bool, not uint16"


def test_wrong_shape_says_what_was_expected(issues_of: Issues) -> None:
    (issue,) = issues_of("enterprise: acme\nsite: s1\ndevices: {name: plc}\n")
    assert issue.message == "devices must be a list, not a mapping"
