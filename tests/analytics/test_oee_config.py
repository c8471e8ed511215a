"""The efficiency sections of the site file: references and values are checked with clear
messages, and the embedded demo site carries a working example of each."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from isthmus.cli.running import embedded_site_path
from isthmus.config import SiteConfigError, load_site
from tests.analytics.efficiency_site import BASE, PREFIX, site_with


def test_an_oee_tag_that_is_not_configured_is_named() -> None:
    line = {"name": "packaging/line1", "state": "packaging/line1/filler/filler/status",
            "good_count": f"{PREFIX}/good_count", "ideal_cycle": 0.5}
    with pytest.raises(ValidationError, match=r"oee.lines\[0\].state: 'packaging/line1/"
                                              r"filler/filler/status' is not a configured"):
        site_with(oee={"lines": [line]})


def test_a_shift_start_must_be_a_clock_time() -> None:
    with pytest.raises(ValidationError, match="shift start '25:00' must be HH:MM"):
        site_with(shifts=[{"name": "a", "start": "25:00"}])


def test_a_meter_reads_kwh_or_kw_not_both() -> None:
    meter = {"name": "site/main", "kwh": "utilities/main/meter/meter/kwh",
             "kw": "utilities/main/meter/meter/kw"}
    with pytest.raises(ValidationError, match="exactly one of kwh"):
        site_with(energy={"meters": [meter]})


def test_an_unknown_time_zone_is_refused() -> None:
    with pytest.raises(ValidationError, match="unknown time zone 'Europe/Lyon'"):
        site_with(timezone="Europe/Lyon")


def test_spec_limits_must_be_ordered() -> None:
    data = yaml.safe_load(yaml.safe_dump(BASE))
    data["devices"][0]["units"][0]["tags"]["fill_weight"]["spec"] = {"lsl": 510, "usl": 490}
    with pytest.raises(ValidationError, match=r"spec lsl 510\.0 must be below usl 490\.0"):
        site_with(**{k: v for k, v in data.items() if k == "devices"})


def test_an_error_in_the_site_file_has_its_line(tmp_path: Path) -> None:
    path = tmp_path / "site.yaml"
    path.write_text(yaml.safe_dump({**BASE, "energy": {"interval": 90}}, sort_keys=False))
    with pytest.raises(SiteConfigError, match=r"site.yaml:\d+:\d+: energy.interval"):
        load_site(path)


def test_the_demo_site_declares_every_section() -> None:
    site = load_site(embedded_site_path())
    assert [s.name for s in site.shifts] == ["morning", "afternoon", "night"]
    assert site.spc.charts and site.oee.lines and site.energy.meters
    assert site.timezone == "Europe/Paris"
