"""Statistical process control: X̄-R and I-MR charts, Western Electric and Nelson rules,
capability (Cp, Cpk, Pp, Ppk) per shift."""

from isthmus.analytics.spc.capability import Capability, CapabilityAccumulator, capability
from isthmus.analytics.spc.chart import ControlChart, Limits, i_mr_limits, xbar_r_limits
from isthmus.analytics.spc.constants import E2, constants_for
from isthmus.analytics.spc.monitor import SpcMonitor, spc_derived_tags, spec_of
from isthmus.analytics.spc.rules import RuleHit, RuleWatch, rules_at

__all__ = [
    "E2",
    "Capability",
    "CapabilityAccumulator",
    "ControlChart",
    "Limits",
    "RuleHit",
    "RuleWatch",
    "SpcMonitor",
    "capability",
    "constants_for",
    "i_mr_limits",
    "rules_at",
    "spc_derived_tags",
    "spec_of",
    "xbar_r_limits",
]
