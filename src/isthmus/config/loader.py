"""Loading a site file: YAML in, a validated SiteConfig out, or every problem at once, each
with file:line:column, the field path, the offending value and a hint.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from isthmus.config.checks import reference_findings, semantic_findings
from isthmus.config.errors import ConfigIssue, SiteConfigError
from isthmus.config.messages import finding_of
from isthmus.config.schema import SiteConfig
from isthmus.config.yaml_source import Finding, read_source

__all__ = ["CheckReport", "check_site", "format_check_report", "load_site"]

#: kinds of our own reference findings that make pydantic's site-level validator redundant
_SITE_LEVEL = frozenset({"unknown-template", "duplicate-device"})


def load_site(path: str | Path) -> SiteConfig:
    """Read and validate the site file at `path`; raise SiteConfigError listing every issue."""
    source = read_source(path)
    data = source.data
    if not isinstance(data, dict):
        raise SiteConfigError(source.file, [source.issue(Finding(
            (), "the top level must be a mapping of keys (enterprise:, site:, devices:…), "
                f"not {_kind_of(data)}"))])
    site: SiteConfig | None = None
    errors: list[ErrorDetails] = []
    try:
        site = SiteConfig.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
    except RecursionError as exc:  # a YAML alias that contains itself
        raise SiteConfigError(source.file, [source.issue(Finding(
            (), "the file refers to itself through a YAML alias (&name / *name)"))]) from exc
    findings = list(source.duplicate_keys)
    findings.extend(reference_findings(data, source.line_of))
    findings.extend(finding_of(e) for e in errors if not _superseded(e, findings))
    findings.extend(semantic_findings(data, source.line_of))
    if findings:
        raise SiteConfigError(source.file, _unique(source.issue(f) for f in findings))
    assert site is not None  # no findings means pydantic accepted the data
    return site


def _kind_of(data: object) -> str:
    if data is None:
        return "null"
    return "a list" if isinstance(data, list) else f"a single value ({type(data).__name__})"


def _superseded(err: ErrorDetails, ours: list[Finding]) -> bool:
    """True for pydantic's cross-object errors that our own checks report more fully."""
    if err["type"] != "value_error":
        return False
    loc = err["loc"]
    if loc == ():
        return any(f.kind in _SITE_LEVEL for f in ours)
    if len(loc) == 3 and loc[0] == "devices" and loc[2] == "units":
        return any(f.kind == "duplicate-unit" and f.loc[:2] == loc[:2] for f in ours)
    return False


def _unique(issues: Iterable[ConfigIssue]) -> list[ConfigIssue]:
    out: list[ConfigIssue] = []
    for issue in issues:
        if issue not in out:
            out.append(issue)
    return out


@dataclass(frozen=True, slots=True)
class CheckReport:
    """What `isthmus check` says about a site file."""

    file: str
    site: SiteConfig | None
    issues: tuple[ConfigIssue, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.issues

    @property
    def exit_status(self) -> int:
        """0 when the file is valid, 2 when it has errors."""
        return 0 if self.ok else 2

    def counts(self) -> dict[str, int]:
        if self.site is None:
            return {}
        units = [u for d in self.site.devices for u in d.units]
        links = {(d.host.lower(), d.port) for d in self.site.devices}
        return {"devices": len(self.site.devices), "units": len(units),
                "tags": len(self.site.tags()), "links": len(links)}


def check_site(path: str | Path) -> CheckReport:
    """Load the site file and summarise it, or collect its issues; never raises for a bad file."""
    try:
        site = load_site(path)
    except SiteConfigError as exc:
        return CheckReport(str(path), None, exc.issues)
    return CheckReport(str(path), site)


def format_check_report(report: CheckReport) -> str:
    """The text `isthmus check` prints."""
    if not report.ok:
        return str(SiteConfigError(report.file, report.issues))
    assert report.site is not None
    counts = ", ".join(f"{n} {name}" for name, n in report.counts().items())
    return f"{report.file}: OK — {report.site.enterprise}/{report.site.site}: {counts}"
