"""`isthmus check`: a summary for a valid file, every issue and exit status 2 for a broken one."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from isthmus.config import check_site, format_check_report

VALID = """
enterprise: acme
site: s1
templates:
  pump: {tags: {flow: {address: 0, type: float32}, head: {address: 2, type: float32}}}
devices:
  - name: gw
    host: 127.0.0.1
    units:
      - {unit_id: 1, path: a/b/c/p1, template: pump}
      - {unit_id: 2, path: a/b/c/p2, template: pump}
  - name: meter
    host: 127.0.0.2
    units:
      - {unit_id: 1, path: a/b/c/m1, tags: {power: {address: 0}}}
"""


def test_valid_file_is_summarised(site_file: Callable[[str], Path]) -> None:
    path = site_file(VALID)
    report = check_site(path)
    assert (report.ok, report.exit_status) == (True, 0)
    assert report.counts() == {"devices": 2, "units": 3, "tags": 5, "links": 2}
    assert format_check_report(report) == (
        f"{path}: OK — acme/s1: 2 devices, 3 units, 5 tags, 2 links")


def test_invalid_file_lists_issues_and_exits_2(site_file: Callable[[str], Path]) -> None:
    path = site_file(VALID.replace("unit_id: 2", "unit_id: 248").replace("head", "Head"))
    report = check_site(path)
    assert (report.ok, report.exit_status, report.site) == (False, 2, None)
    text = format_check_report(report)
    assert text.splitlines()[0] == f"{path}: 2 errors in the site file"
    assert f"{path}:4:" in text and f"{path}:10:" in text


def test_missing_file_is_a_report_not_an_exception(tmp_path: Path) -> None:
    report = check_site(tmp_path / "absent.yaml")
    assert report.exit_status == 2
    assert "no such file" in format_check_report(report)
