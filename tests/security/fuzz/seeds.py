"""The valid messages the fuzzer mutates: every sample of every protocol (so each
dissector also meets the others' traffic) and a few Modbus ADUs."""

from __future__ import annotations

from tests.security.samples import TCP_SESSIONS, UDP_SAMPLES
from tests.security.traffic import adu, read_request, registers_response

SEEDS: list[bytes] = [
    data for conversation in (*TCP_SESSIONS.values(), *UDP_SAMPLES.values())
    for _to_server, data in conversation
] + [read_request(1), registers_response(1, [1, 2, 3]), adu(2, 1, b"\x2b\x0e\x01\x00")]
