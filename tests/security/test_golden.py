"""Golden tests: a generated capture in, the monitor's ECS JSON lines out, compared with
testcases/<case>/expected.jsonl (timestamps relative to T0).

Regenerate after a deliberate change with ISTHMUS_UPDATE_GOLDEN=1 and review the diff.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.security.golden_cases import CASES
from tests.security.traffic import monitor, normalised_jsonl, write_pcap

TESTCASES = Path(__file__).parent / "testcases"


@pytest.mark.parametrize("case", sorted(CASES))
def test_capture_gives_the_expected_events(case: str, tmp_path: Path) -> None:
    linktype, frames = CASES[case]()
    events, _ = monitor(write_pcap(tmp_path / f"{case}.pcap", frames, linktype=linktype))
    lines = normalised_jsonl(events)
    expected = TESTCASES / case / "expected.jsonl"
    if os.environ.get("ISTHMUS_UPDATE_GOLDEN"):
        expected.parent.mkdir(parents=True, exist_ok=True)
        expected.write_text("".join(line + "\n" for line in lines))
    assert lines == expected.read_text().splitlines()
