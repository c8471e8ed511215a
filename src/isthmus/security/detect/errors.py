"""Errors of the detection engine.

    SecurityMonitorError
     ├── RuleError          a rules file is not valid (names the file, the rule and why)
     ├── BaselineError      a baseline file cannot be read or has the wrong schema
     └── OutputError        a SIEM output (CEF over UDP/TCP, Zeek logs) cannot be opened
"""

from __future__ import annotations

from isthmus.security.errors import SecurityMonitorError

__all__ = ["BaselineError", "OutputError", "RuleError"]


class RuleError(SecurityMonitorError):
    """A detection rule file or rule is invalid."""


class BaselineError(SecurityMonitorError):
    """A baseline file is unreadable or not in a schema we know."""


class OutputError(SecurityMonitorError):
    """An alert output cannot be opened or written."""
