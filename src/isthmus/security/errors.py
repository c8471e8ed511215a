"""Errors of the security monitor.

    SecurityMonitorError
     └── CaptureFormatError     a file is not a capture we can read (raised before any frame)

Everything found *inside* a capture (truncation, malformed packets, protocol violations)
is an `Anomaly` event, never an exception.
"""

from __future__ import annotations

__all__ = ["CaptureFormatError", "SecurityMonitorError"]


class SecurityMonitorError(Exception):
    """Base of the security monitor's errors."""


class CaptureFormatError(SecurityMonitorError):
    """The file cannot be opened or is neither pcap nor pcapng."""
