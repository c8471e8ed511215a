"""Operations with a verdict: multi-message engineering sequences rebuilt per (client,
server, protocol) and reported once.

A run of `download` (or `upload`) requests from one client to one server, each within
`gap_s` of the previous, is one program download (upload). The run is reported when its
final message arrives (S7 PLC control `_INSE`, which activates the downloaded blocks;
UMAS `end_download` / `end_strategy_upload`), when the next message comes after more than
`gap_s`, or at the end of the capture. Messages of the same kind that follow a reported
run within `gap_s` belong to it and are not reported again.

Blocks: an S7 download repeats request-download → download-block… → download-ended once
per block, so blocks are counted by `request_download` / `start_upload`; otherwise by the
messages whose function names a block (UMAS `download_block`); otherwise every message.
CPU stop/start and restarts are reported per request, repeats within `gap_s` folded in.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from isthmus.security.detect.signals import Signal
from isthmus.security.events import FlowKey, ProtocolEvent

__all__ = ["SEQUENCED", "SequenceTracker"]

SEQUENCED = frozenset({"download", "upload"})
SINGLE = frozenset({"cpu_stop", "cpu_start", "restart"})
FINAL_FUNCTIONS = frozenset({"plc_control", "end_download", "end_strategy_upload"})
BLOCK_STARTS = frozenset({"request_download", "start_upload"})
_WORDS = {"download": "program download to", "upload": "program upload from",
          "cpu_stop": "CPU stop of", "cpu_start": "CPU start of", "restart": "restart of"}
_MAX_RUNS = 10_000
_Key = tuple[str, str, str, str]          # client, server, protocol, operation


@dataclass(slots=True)
class _Run:
    operation: str
    client: str
    server: str
    protocol: str
    flow: FlowKey
    first_ns: int
    last_ns: int
    messages: int = 0
    blocks: int = 0                      # messages naming a block
    starts: int = 0                      # messages starting a block's transfer (S7)
    functions: list[str] = field(default_factory=list)
    evidence: list[str] = field(default_factory=list)
    done: bool = False                   # reported; later messages are absorbed

    def add(self, event: ProtocolEvent, function: str) -> None:
        self.messages += 1
        self.last_ns = event.ts_ns
        if function in BLOCK_STARTS:
            self.starts += 1
        elif "block" in function:
            self.blocks += 1
        if function not in self.functions and len(self.functions) < 16:
            self.functions.append(function)
        if len(self.evidence) < 8:
            self.evidence.append(event.summary())

    def verdict(self, *, completed: bool) -> Signal:
        self.done = True
        words = _WORDS[self.operation]
        message = f"{words} {self.server}"
        if self.operation in SEQUENCED:
            blocks = self.starts or self.blocks or self.messages
            message += f" ({blocks} block{'s' if blocks != 1 else ''})"
        else:
            blocks = 0
        message += f" by {self.client}"
        return Signal("operation", self.operation, self.last_ns, self.protocol, self.client,
                      self.server, message, self.flow, list(self.evidence), self.messages,
                      {"operation": self.operation, "blocks": blocks,
                       "messages": self.messages, "functions": list(self.functions),
                       "duration_s": round((self.last_ns - self.first_ns) / 1e9, 6),
                       "completed": completed})


class SequenceTracker:
    def __init__(self, *, gap_s: float = 30.0) -> None:
        self.gap_ns = int(gap_s * 1e9)
        self._runs: dict[_Key, _Run] = {}

    def feed(self, event: ProtocolEvent, operation: str, function: str, client: str,
             server: str) -> list[Signal]:
        """A request whose (refined) operation is download, upload, cpu_stop, cpu_start or
        restart; the verdicts it completes."""
        out: list[Signal] = []
        key = (client, server, event.protocol, operation)
        run = self._runs.get(key)
        ts = event.ts_ns
        if run is not None and ts - run.last_ns > self.gap_ns:
            if not run.done:
                out.append(run.verdict(completed=False))
            run = None
        if run is None:
            if len(self._runs) >= _MAX_RUNS:
                out.extend(self.expire(ts, force=True))
            run = self._runs[key] = _Run(operation, client, server, event.protocol,
                                         event.flow, ts, ts)
            run.add(event, function)
            if operation in SINGLE or function in FINAL_FUNCTIONS:
                out.append(run.verdict(completed=True))
            return out
        run.add(event, function)
        if not run.done and function in FINAL_FUNCTIONS:
            out.append(run.verdict(completed=True))
        return out

    def expire(self, now_ns: int, *, force: bool = False) -> list[Signal]:
        """Verdicts of runs idle for more than the gap (all runs when `force`)."""
        out: list[Signal] = []
        for key, run in list(self._runs.items()):
            if force or now_ns - run.last_ns > self.gap_ns:
                if not run.done:
                    out.append(run.verdict(completed=False))
                del self._runs[key]
        return out
