"""Detection rules as data: YAML files of rules, each with an id, name, description,
severity, ATT&CK techniques, a condition, an optional threshold and a message template.

    - id: ISTH-0001
      name: Program download
      severity: high
      attack: [T0843]                      # or [{id: T0843, name: Program Download}]
      when: {signal: operation, operation: [download]}
      threshold: {count: 10, within_s: 60, distinct: unit_id, group_by: [client]}
      message: "{message}"

The built-in rules ship in `isthmus/security/detect/rules/*.yaml`; users add files or
folders with `--rules`. See docs/security-monitor.md, "Rules", for every field."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from isthmus.model import Severity
from isthmus.security.detect.attack import Technique, technique
from isthmus.security.detect.errors import RuleError
from isthmus.security.detect.signals import DEVIATIONS

__all__ = ["Condition", "Rule", "Threshold", "builtin_rules", "load_rules", "parse_rules"]

SIGNALS = ("event", "operation", "deviation")
GROUP_FIELDS = ("client", "server", "protocol", "unit_id", "address", "function",
                "operation")
_RULE_KEYS = {"id", "name", "description", "severity", "attack", "when", "threshold",
              "message", "suppress_s", "enabled"}
_WHEN_KEYS = {"signal", "protocol", "operation", "function", "direction", "exception",
              "client_zone", "server_zone", "server_role", "deviation", "detail",
              "broadcast"}
_THRESHOLD_KEYS = {"count", "within_s", "distinct", "group_by"}


@dataclass(frozen=True, slots=True)
class Condition:
    signal: str = "event"
    protocols: frozenset[str] | None = None
    operations: frozenset[str] | None = None
    functions: frozenset[str] | None = None
    direction: str | None = None
    exception: bool | frozenset[str] | None = None
    client_zone: str | None = None
    server_zone: str | None = None
    server_role: str | None = None          # "controller": serves an industrial protocol
    deviations: frozenset[str] | None = None
    detail: tuple[tuple[str, Any], ...] = ()
    broadcast: bool | None = None

    def matches(self, *, signal: str, operation: str, protocol: str, function: str,
                direction: str, exception: str | None, client_zone: str, server_zone: str,
                server_is_controller: bool, deviation: str | None = None,
                detail: dict[str, Any] | None = None, broadcast: bool = False) -> bool:
        if signal != self.signal:
            return False
        if self.protocols is not None and protocol not in self.protocols:
            return False
        if self.operations is not None and operation not in self.operations:
            return False
        if self.functions is not None and function not in self.functions:
            return False
        if self.direction is not None and direction != self.direction:
            return False
        if self.exception is not None:
            if isinstance(self.exception, bool):
                if self.exception != (exception is not None):
                    return False
            elif exception not in self.exception:
                return False
        if self.client_zone is not None and client_zone != self.client_zone:
            return False
        if self.server_zone is not None and server_zone != self.server_zone:
            return False
        if self.server_role == "controller" and not server_is_controller:
            return False
        if self.deviations is not None and deviation not in self.deviations:
            return False
        if self.broadcast is not None and broadcast != self.broadcast:
            return False
        return all((detail or {}).get(k) == v for k, v in self.detail)


@dataclass(frozen=True, slots=True)
class Threshold:
    count: int = 1
    within_s: float = 0.0
    distinct: str | None = None
    group_by: tuple[str, ...] = ("client", "server")


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    name: str
    severity: Severity
    techniques: tuple[Technique, ...]
    when: Condition
    message: str
    description: str = ""
    threshold: Threshold = field(default_factory=Threshold)
    suppress_s: float = 300.0
    source: str = ""


def _strings(value: Any, where: str, key: str) -> frozenset[str] | None:
    if value is None:
        return None
    items = value if isinstance(value, list) else [value]
    if not all(isinstance(v, str | int) for v in items):
        raise RuleError(f"{where}: '{key}' must be a string or a list of strings")
    return frozenset(str(v) for v in items)


def _one_of(value: Any, allowed: Iterable[str | None], where: str, key: str) -> Any:
    allowed = tuple(allowed)
    if value not in allowed:
        raise RuleError(f"{where}: '{key}' is {value!r}; expected one of "
                        f"{', '.join(str(a) for a in allowed if a is not None)}")
    return value


def _condition(data: Any, where: str) -> Condition:
    if not isinstance(data, dict):
        raise RuleError(f"{where}: 'when' must be a mapping of conditions")
    unknown = set(data) - _WHEN_KEYS
    if unknown:
        raise RuleError(f"{where}: unknown condition(s) {', '.join(sorted(unknown))}; "
                        f"known: {', '.join(sorted(_WHEN_KEYS))}")
    exception = data.get("exception")
    if exception is not None and not isinstance(exception, bool):
        exception = _strings(exception, where, "exception")
    deviations = _strings(data.get("deviation"), where, "deviation")
    for name in deviations or ():
        _one_of(name, DEVIATIONS, where, "deviation")
    detail = data.get("detail") or {}
    if not isinstance(detail, dict):
        raise RuleError(f"{where}: 'detail' must be a mapping of field: value")
    return Condition(
        _one_of(data.get("signal", "event"), SIGNALS, where, "signal"),
        _strings(data.get("protocol"), where, "protocol"),
        _strings(data.get("operation"), where, "operation"),
        _strings(data.get("function"), where, "function"),
        _one_of(data.get("direction"), ("request", "response", None), where, "direction"),
        exception,
        _one_of(data.get("client_zone"), ("ot", "it", None), where, "client_zone"),
        _one_of(data.get("server_zone"), ("ot", "it", None), where, "server_zone"),
        _one_of(data.get("server_role"), ("controller", None), where, "server_role"),
        deviations, tuple(sorted(detail.items())), data.get("broadcast"))


def _threshold(data: Any, where: str) -> Threshold:
    if data is None:
        return Threshold()
    if not isinstance(data, dict) or set(data) - _THRESHOLD_KEYS:
        raise RuleError(f"{where}: 'threshold' takes {', '.join(sorted(_THRESHOLD_KEYS))}")
    count, within = data.get("count", 1), data.get("within_s", 0)
    if not isinstance(count, int) or count < 1:
        raise RuleError(f"{where}: threshold count {count!r} must be an integer ≥ 1")
    if not isinstance(within, int | float) or within < 0 or (count > 1 and within == 0):
        raise RuleError(f"{where}: threshold within_s {within!r} must be a number of "
                        f"seconds > 0 when count > 1")
    group_by = data.get("group_by", ["client", "server"])
    for name in [*group_by, *([data["distinct"]] if data.get("distinct") else [])]:
        _one_of(name, GROUP_FIELDS, where, "group_by/distinct")
    return Threshold(count, float(within), data.get("distinct"), tuple(group_by))


def _techniques(data: Any, where: str) -> tuple[Technique, ...]:
    out = []
    for item in data or []:
        try:
            if isinstance(item, str):
                out.append(technique(item))
            elif isinstance(item, dict) and isinstance(item.get("id"), str):
                out.append(technique(item["id"], item.get("name")))
            else:
                raise RuleError(f"{where}: an ATT&CK entry is an id or {{id, name}}")
        except KeyError as exc:
            raise RuleError(f"{where}: {exc.args[0]}") from None
    return tuple(out)


def _rule(data: Any, where: str, source: str) -> Rule:
    if not isinstance(data, dict):
        raise RuleError(f"{where}: a rule is a mapping")
    unknown = set(data) - _RULE_KEYS
    if unknown:
        raise RuleError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    for key in ("id", "name", "severity", "when", "message"):
        if key not in data:
            raise RuleError(f"{where}: '{key}' is missing")
    where = f"{where} ({data['id']})"
    try:
        severity = Severity[str(data["severity"]).upper()]
    except KeyError:
        raise RuleError(f"{where}: severity {data['severity']!r} is not one of "
                        f"{', '.join(s.name.lower() for s in Severity)}") from None
    return Rule(str(data["id"]), str(data["name"]), severity,
                _techniques(data.get("attack"), where), _condition(data["when"], where),
                str(data["message"]), str(data.get("description", "")),
                _threshold(data.get("threshold"), where),
                float(data.get("suppress_s", 300.0)), source)


def parse_rules(text: str, source: str) -> list[Rule]:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise RuleError(f"{source}: not valid YAML: {exc}") from exc
    if isinstance(data, dict):
        data = data.get("rules")
    if not isinstance(data, list):
        raise RuleError(f"{source}: expected a list of rules (or a 'rules:' list)")
    return [_rule(item, f"{source}: rule {i + 1}", source) for i, item in enumerate(data)
            if not (isinstance(item, dict) and item.get("enabled") is False)]


def builtin_rules() -> list[Rule]:
    folder = resources.files("isthmus.security.detect") / "rules"
    rules: list[Rule] = []
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith((".yaml", ".yml")):
            rules.extend(parse_rules(entry.read_text(encoding="utf-8"), f"builtin:{entry.name}"))
    return rules


def load_rules(paths: Iterable[Path] = (), *, builtin: bool = True) -> list[Rule]:
    """The built-in rules, then those in `paths` (files, or folders of *.yaml). A user rule
    with a built-in rule's id replaces it."""
    rules = {r.id: r for r in (builtin_rules() if builtin else [])}
    for path in paths:
        files = sorted([*path.glob("*.yaml"), *path.glob("*.yml")]) if path.is_dir() \
            else [path]
        for file in files:
            try:
                text = file.read_text(encoding="utf-8")
            except OSError as exc:
                raise RuleError(f"{file}: cannot read the rules file: {exc}") from exc
            for rule in parse_rules(text, str(file)):
                rules[rule.id] = rule
    return list(rules.values())
