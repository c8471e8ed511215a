"""Rules as data: the built-in files load, user files add or replace rules, and a broken
rule is refused with a message naming the file, the rule and the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from isthmus.model import Severity
from isthmus.security.detect import Detector, RuleError, builtin_rules, load_rules
from isthmus.security.detect.rules import parse_rules
from tests.security.detect.scenarios import EWS, benign, run, write_register

USER_RULE = """
rules:
  - id: SITE-001
    name: Write to the filler setpoint
    description: Any write to holding register 8 of the line PLC.
    severity: medium
    attack: [{id: T0836, name: Modify Parameter}]
    when: {signal: event, protocol: modbus, direction: request, operation: write}
    message: "{client} wrote unit {unit_id} address {address} of {server}"
    suppress_s: 0
"""


def test_builtin_rules_have_unique_ids_and_techniques_with_names() -> None:
    rules = builtin_rules()
    assert len({r.id for r in rules}) == len(rules) >= 27
    for rule in rules:
        assert rule.name and rule.message
        assert all(t.id.startswith("T0") and t.name for t in rule.techniques)


def test_user_rule_file_adds_a_rule(tmp_path: Path) -> None:
    (tmp_path / "site.yaml").write_text(USER_RULE)
    rules = load_rules([tmp_path])
    assert "SITE-001" in {r.id for r in rules} and "ISTH-OP-001" in {r.id for r in rules}
    scenario = benign(0, 5)
    scenario.exchange(6, write_register(8, 321), client=EWS)
    alerts, _ = run(scenario.write(tmp_path / "c.pcap"), Detector(rules=rules))
    assert [a.message for a in alerts if a.rule_id == "SITE-001"] == [
        f"{EWS.ip} wrote unit 1 address 8 of 10.10.0.1"]


def test_user_rule_replaces_a_builtin_rule_with_the_same_id(tmp_path: Path) -> None:
    path = tmp_path / "quiet.yaml"
    path.write_text(USER_RULE.replace("SITE-001", "ISTH-OP-001").replace("medium", "info"))
    rule = next(r for r in load_rules([path]) if r.id == "ISTH-OP-001")
    assert rule.severity == Severity.INFO


def test_disabled_rule_is_skipped() -> None:
    assert parse_rules(USER_RULE.replace("suppress_s: 0", "enabled: false"), "x.yaml") == []


@pytest.mark.parametrize(("change", "message"), [
    (("severity: medium", "severity: urgent"), r"x.yaml: rule 1 \(SITE-001\): severity "
                                               r"'urgent' is not one of"),
    (("operation: write", "operation: write, colour: red"), "unknown condition.*colour"),
    (("signal: event", "signal: packet"), "'signal' is 'packet'; expected one of"),
    (("suppress_s: 0", "threshold: {count: 5}"), "within_s 0 must be a number of seconds"),
    (("{id: T0836, name: Modify Parameter}", "T9999"), "unknown ATT&CK for ICS technique"),
    (("    name: Write to the filler setpoint\n", ""), "'name' is missing"),
])
def test_broken_rule_is_refused_with_where_and_why(change: tuple[str, str],
                                                   message: str) -> None:
    with pytest.raises(RuleError, match=message):
        parse_rules(USER_RULE.replace(*change), "x.yaml")


def test_not_yaml_is_refused() -> None:
    with pytest.raises(RuleError, match=r"bad\.yaml: not valid YAML"):
        parse_rules("rules: [", "bad.yaml")
