"""Detection for the passive monitor: operations with a verdict, baseline learning and
protection, rules as data mapped to MITRE ATT&CK for ICS, and SIEM outputs (CEF, Zeek)."""

from __future__ import annotations

from isthmus.security.detect.alert import Alert
from isthmus.security.detect.attack import ATTACK_VERSION, FRAMEWORK, Technique
from isthmus.security.detect.baseline import Baseline, LinkBaseline, Poll
from isthmus.security.detect.engine import Detector
from isthmus.security.detect.errors import BaselineError, OutputError, RuleError
from isthmus.security.detect.rules import Rule, builtin_rules, load_rules
from isthmus.security.detect.signals import DEVIATIONS, Signal
from isthmus.security.detect.zones import Zones

__all__ = [
    "ATTACK_VERSION",
    "DEVIATIONS",
    "FRAMEWORK",
    "Alert",
    "Baseline",
    "BaselineError",
    "Detector",
    "LinkBaseline",
    "OutputError",
    "Poll",
    "Rule",
    "RuleError",
    "Signal",
    "Technique",
    "Zones",
    "builtin_rules",
    "load_rules",
]
