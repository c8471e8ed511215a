"""The fuzz target (`make fuzz`, FUZZ_MINUTES, default 3): every TCP and UDP dissector in
the registries gets random bytes and mutations of valid messages of every protocol, split
at random points, with gaps and mid-stream starts. Any exception fails; the input that
caused it is kept in regressions/ and replayed by the normal suite from then on."""

from __future__ import annotations

import os
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.security.fuzz.harness import TCP_NAMES, UDP_NAMES, Case, run, save
from tests.security.fuzz.seeds import SEEDS

pytestmark = pytest.mark.fuzz

_TARGETS = [("tcp", n) for n in TCP_NAMES] + [("udp", n) for n in UDP_NAMES]
_BUDGET_S = float(os.environ.get("FUZZ_MINUTES", "3")) * 60 / len(_TARGETS)
EXAMPLES: dict[str, int] = {}          # examples run, by transport/protocol


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    """A valid message of some protocol, or random bytes, then a few mutations."""
    if draw(st.integers(0, 4)) == 0:
        data = bytearray(draw(st.binary(max_size=512)))
    else:
        data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(0, 4))):
        kind = draw(st.integers(0, 4))
        pos = draw(st.integers(0, max(0, len(data) - 1)))
        if kind == 0 and data:                                  # flip bits
            data[pos] ^= draw(st.integers(1, 255))
        elif kind == 1:                                         # insert bytes
            data[pos:pos] = draw(st.binary(min_size=1, max_size=8))
        elif kind == 2:                                         # cut
            del data[pos:pos + draw(st.integers(1, 64))]
        elif kind == 3:                                         # truncate
            del data[pos:]
        elif data:                                              # extreme byte
            data[pos] = draw(st.sampled_from([0, 0x7F, 0x80, 0xFF]))
    return bytes(data)


@st.composite
def cases(draw: st.DrawFn, transport: str, protocol: str) -> Case:
    messages = draw(st.lists(st.tuples(st.booleans(), mutated()), min_size=1, max_size=6))
    chunks: list[tuple[bool, bytes, int]] = []
    for to_server, data in messages:
        cuts = sorted(draw(st.lists(st.integers(0, len(data)), max_size=3)))
        for start, end in zip([0, *cuts], [*cuts, len(data)], strict=True):
            gap = draw(st.sampled_from([0, 0, 0, 0, 1, 3, 100]))
            chunks.append((to_server, data[start:end], gap if transport == "tcp" else 0))
    return Case(protocol, transport, draw(st.booleans()), chunks)


@pytest.mark.parametrize(("transport", "protocol"), _TARGETS)
def test_dissector_survives_arbitrary_input(transport: str, protocol: str) -> None:
    failing: list[Case] = []
    target = f"{transport}/{protocol}"

    @settings(max_examples=300, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(cases(transport, protocol))
    def fuzz(case: Case) -> None:
        EXAMPLES[target] = EXAMPLES.get(target, 0) + 1
        try:
            run(case)
        except Exception:
            failing[:] = [case]
            raise

    deadline = time.monotonic() + _BUDGET_S
    while time.monotonic() < deadline:
        try:
            fuzz()
        except Exception:
            if failing:
                print(f"kept {save(failing[0])}")
            raise
    print(f"{target}: {EXAMPLES.get(target, 0)} examples")
