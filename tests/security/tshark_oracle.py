"""Wireshark's tshark as a test oracle: the values of one field, frame by frame, for a
capture. Tests that use it are marked slow and skip when tshark is not installed."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

TSHARK = shutil.which("tshark")

needs_tshark = pytest.mark.skipif(TSHARK is None, reason="tshark is not installed")


def tshark_values(pcap: Path, field: str, *, decode_as: str | None = None) -> list[str]:
    """The non-empty values of `field`, one string per frame that has it (several
    occurrences in one frame are comma-separated, as tshark prints them)."""
    assert TSHARK is not None
    command = [TSHARK, "-r", str(pcap), "-o", "tcp.analyze_sequence_numbers:FALSE",
               "-T", "fields", "-e", field]
    if decode_as is not None:
        command += ["-d", decode_as]
    result = subprocess.run(command, capture_output=True, text=True, check=True, timeout=60)
    return [line for line in result.stdout.splitlines() if line.strip()]
