"""Problems with the file itself: missing, unreadable, empty, not YAML, tabs, wrong top level."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from isthmus.config import ConfigIssue, SiteConfigError, load_site

Issues = Callable[[str], tuple[ConfigIssue, ...]]


def _only_issue(path: Path) -> ConfigIssue:
    with pytest.raises(SiteConfigError) as caught:
        load_site(path)
    (issue,) = caught.value.issues
    return issue


def test_missing_file(tmp_path: Path) -> None:
    issue = _only_issue(tmp_path / "nope.yaml")
    assert (issue.file, issue.line, issue.message) == (str(tmp_path / "nope.yaml"), None,
                                                       "no such file")
    assert str(issue) == f"{tmp_path / 'nope.yaml'}: no such file"


def test_directory_instead_of_file(tmp_path: Path) -> None:
    assert "is a directory" in _only_issue(tmp_path).message


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("enterprise: café\n".encode("latin-1"))
    assert _only_issue(path).message.startswith("not UTF-8 text")


def test_utf8_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "bom.yaml"
    path.write_bytes(b"\xef\xbb\xbfenterprise: acme\nsite: s1\n")
    assert load_site(path).site == "s1"


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n"])
def test_empty_file(site_file: Callable[[str], Path], text: str) -> None:
    issue = _only_issue(site_file(text))
    assert issue.message == "the file is empty"
    assert issue.hint is not None and "enterprise" in issue.hint


@pytest.mark.parametrize(("text", "what"), [("- a\n- b\n", "a list"), ("hello\n", "a single value"),
                                            ("~\n", "null")])
def test_top_level_must_be_a_mapping(site_file: Callable[[str], Path], text: str,
                                     what: str) -> None:
    issue = _only_issue(site_file(text))
    assert issue.line == 1
    assert issue.message.startswith("the top level must be a mapping")
    assert what in issue.message


def test_yaml_syntax_error_has_its_line(issues_of: Issues) -> None:
    (issue,) = issues_of("""
        enterprise: acme
        site: s1
        devices:
          - name: plc
            host: [127.0.0.1
        """)
    assert issue.line == 6
    assert issue.message.startswith("YAML syntax error:")
    assert "line 5" in issue.message  # where the unclosed flow sequence started


def test_tabs_used_for_indentation_are_named(site_file: Callable[[str], Path]) -> None:
    path = site_file("enterprise: acme\nsite: s1\nhistorian:\n\turl: sqlite:///x.db\n"
                     "\tretention_days: 3\n")
    with pytest.raises(SiteConfigError) as caught:
        load_site(path)
    assert [(i.line, i.message) for i in caught.value.issues] == [
        (4, "tab character used for indentation"), (5, "tab character used for indentation")]
    assert "spaces" in (caught.value.issues[0].hint or "")


def test_tab_inside_a_quoted_value_is_fine(site_file: Callable[[str], Path]) -> None:
    site = load_site(site_file('enterprise: acme\nsite: s1\ndescription: "a\\tb\tc"\n'))
    assert site.description == "a\tb\tc"


def test_two_documents_in_one_file(issues_of: Issues) -> None:
    (issue,) = issues_of("enterprise: acme\nsite: s1\n---\nenterprise: other\n")
    assert issue.line == 3
    assert "single document" in issue.message


def test_impossible_date_is_a_located_error(issues_of: Issues) -> None:
    (issue,) = issues_of("enterprise: acme\nsite: s1\ndescription: 2024-13-45\n")
    assert issue.line == 3
    assert "looks like a date but is not one" in issue.message


def test_alias_that_contains_itself(issues_of: Issues) -> None:
    issues = issues_of("enterprise: acme\nsite: s1\ndevices: &loop [*loop]\n")
    assert issues  # reported as an issue, never a crash
