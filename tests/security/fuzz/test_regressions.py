"""Replays every input the fuzzer ever found crashing (regressions/*.json) through every
dissector of its transport: each must now come out as events and anomalies only."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.security.fuzz.harness import REGRESSIONS, TCP_NAMES, UDP_NAMES, Case, run

CASES = sorted(REGRESSIONS.glob("*.json"))
#: found, not yet fixed (outside these dissectors): strict, so a fix makes the test fail
#: until the entry is removed
KNOWN: dict[str, str] = {}   # kept inputs that still fail, by file stem, with why
PARAMS = [pytest.param(p, id=p.stem, marks=[pytest.mark.xfail(reason=KNOWN[p.stem],
                                                               strict=True)]
                       if p.stem in KNOWN else []) for p in CASES]


def test_regressions_are_kept() -> None:
    assert CASES, f"no regression cases in {REGRESSIONS}"


@pytest.mark.parametrize("path", PARAMS)
def test_kept_input_no_longer_breaks_any_dissector(path: Path) -> None:
    case = Case.from_json(path.read_text())
    for name in TCP_NAMES if case.transport == "tcp" else UDP_NAMES:
        for midstream in (False, True):
            run(Case(name, case.transport, midstream, case.chunks))
