"""The site file's `alarms:` section: valid definitions load, mistakes are located, and the
example in docs/alarms.md fits the packaging plant."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from isthmus.analytics.alarms import AlarmEngine
from isthmus.config import SiteConfigError, load_site
from isthmus.config.alarms import AlarmConfig
from isthmus.model import TagRegistry

ROOT = Path(__file__).parents[2]
SITE = """\
enterprise: acme
site: lyon
devices:
  - name: plc
    host: 127.0.0.1
    units:
      - unit_id: 1
        path: process/line1/tank1/tank
        tags:
          level: {address: 0, type: float32}
alarms:
"""


@pytest.fixture
def write(tmp_path: Path) -> Callable[[str], Path]:
    def site(alarms: str) -> Path:
        path = tmp_path / "site.yaml"
        path.write_text(SITE + alarms)
        return path
    return site


def test_alarm_on_a_configured_tag_loads(write: Callable[[str], Path]) -> None:
    site = load_site(write("  - {id: level-hi, tag: process/line1/tank1/tank/level, "
                           "type: hi, limit: 80}\n"))
    assert site.alarms[0].limit == 80


def test_full_tag_path_is_accepted(write: Callable[[str], Path]) -> None:
    site = load_site(write("  - {id: level-lo, tag: acme/lyon/process/line1/tank1/tank/level, "
                           "type: lo, limit: 5}\n"))
    assert site.alarms[0].type.value == "lo"


def test_unknown_tag_is_reported_at_the_alarms_line(write: Callable[[str], Path]) -> None:
    with pytest.raises(SiteConfigError) as caught:
        load_site(write("  - {id: level-hi, tag: process/line1/tank1/tank/levle, type: hi, "
                        "limit: 80}\n"))
    [issue] = caught.value.issues
    assert issue.line == 11  # the `alarms:` key
    assert "alarms[0] level-hi: tag 'process/line1/tank1/tank/levle' is not a configured tag; " \
           "did you mean 'acme/lyon/process/line1/tank1/tank/level'?" in issue.message


def test_missing_limit_is_located(write: Callable[[str], Path]) -> None:
    with pytest.raises(SiteConfigError) as caught:
        load_site(write("  - id: level-hi\n    tag: process/line1/tank1/tank/level\n"
                        "    type: hi\n"))
    [issue] = caught.value.issues
    assert issue.line == 12  # the alarm itself
    assert "a hi alarm needs a limit" in issue.message


def test_duplicate_alarm_ids_are_refused(write: Callable[[str], Path]) -> None:
    alarm = "  - {id: a, tag: process/line1/tank1/tank/level, type: bad_quality}\n"
    with pytest.raises(SiteConfigError, match="alarm id 'a' is already used by alarms"):
        load_site(write(alarm * 2))


@pytest.mark.parametrize(("fields", "message"), [
    ({"type": "state"}, "state .* is required for a state alarm"),
    ({"type": "stale"}, "stale_after .* is required for a stale alarm"),
    ({"type": "deviation", "limit": 2}, "needs a setpoint"),
    ({"type": "hi", "limit": 2, "setpoint": 3}, "setpoint applies to deviation"),
    ({"type": "rate", "limit": -1}, "rate limit is a speed above zero"),
    ({"type": "bad_quality", "limit": 1}, "limit does not apply"),
    ({"type": "hi", "limit": 1, "direction": "low"}, "direction applies to rate"),
    ({"type": "hi", "limit": 1, "suppress_when": {"tag": "x"}}, "exactly one of equals"),
])
def test_fields_must_fit_the_type(fields: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        AlarmConfig.model_validate({"id": "a", "tag": "x/y/z/w/v", **fields})


def _docs_example() -> str:
    text = (ROOT / "docs" / "alarms.md").read_text()
    return re.search(r"```yaml\n(alarms:\n.*?)```", text, re.S).group(1)  # type: ignore[union-attr]


def test_docs_example_is_the_packaging_plants_alarms() -> None:
    site = load_site(ROOT / "examples" / "packaging-plant.yaml")
    documented = yaml.safe_load(_docs_example())["alarms"]
    assert [a.model_dump(mode="json", exclude_defaults=True) for a in site.alarms] == [
        AlarmConfig.model_validate(a).model_dump(mode="json", exclude_defaults=True)
        for a in documented]


def test_the_packaging_plants_alarms_cover_every_kind() -> None:
    site = load_site(ROOT / "examples" / "packaging-plant.yaml")
    registry = TagRegistry()
    for tag in site.tags():
        registry.intern(tag)
    engine = AlarmEngine(site, registry)
    assert len(engine.specs) == len(site.alarms) >= 8
    assert {s.kind.value for s in engine.specs} >= {"hi", "hihi", "lo", "rate", "deviation",
                                                    "state", "bad_quality", "stale"}
