"""Learning mode: builds a `Baseline` from protocol events. Per event it does a few set
and dict updates; ranges are merged and polling periods computed once, in `finalize`."""

from __future__ import annotations

import collections
import statistics
from dataclasses import dataclass, field

from isthmus.security.detect.baseline import Baseline, LinkBaseline, Poll
from isthmus.security.detect.intervals import merge
from isthmus.security.events import ProtocolEvent

__all__ = ["WRITING", "BaselineLearner", "LinkLearning"]

#: operations that make a client the master of a server ("writes/operates")
WRITING = frozenset({"write", "read_write", "select", "operate"})
_MAX_RANGES = 65_536          # distinct raw ranges per link before they are merged early
_MAX_POLLS = 4096             # polls tracked per link
_INTERVALS = 256              # inter-arrivals kept per poll (the latest)
_MIN_INTERVALS = 4
_PollKey = tuple[str, int, int]     # function, unit id, address


@dataclass(slots=True)
class _PollLearning:
    last_ns: int
    intervals: collections.deque[int] = field(
        default_factory=lambda: collections.deque(maxlen=_INTERVALS))


@dataclass(slots=True)
class LinkLearning:
    client: str
    server: str
    protocol: str
    first_ns: int
    last_ns: int
    functions: set[str] = field(default_factory=set)
    reads: set[tuple[int, int, int]] = field(default_factory=set)
    writes: set[tuple[int, int, int]] = field(default_factory=set)
    values: dict[tuple[int, int], list[float]] = field(default_factory=dict)
    polls: dict[_PollKey, _PollLearning] = field(default_factory=dict)
    requests: int = 0
    wrote: bool = False
    unsolicited: int = 0

    def request(self, event: ProtocolEvent, operation: str, function: str,
                function_key: str) -> None:
        """One request on the link (`function_key` is "operation/function")."""
        self.requests += 1
        self.functions.add(function_key)
        address = getattr(event, "address", None)
        if address is None:
            return
        unit = getattr(event, "unit_id", None) or 0
        quantity = getattr(event, "quantity", None) or 1
        span = (unit, address, address + quantity - 1)
        if operation == "read":
            reads = self.reads
            if span not in reads:
                self._add(reads, span)
            key = (function, unit, address)
            poll = self.polls.get(key)
            ts = event.ts_ns
            if poll is None:
                if len(self.polls) < _MAX_POLLS:
                    self.polls[key] = _PollLearning(ts)
            elif ts > poll.last_ns:
                poll.intervals.append(ts - poll.last_ns)
                poll.last_ns = ts
        elif operation in WRITING:
            self.wrote = True
            self._add(self.writes, span)
            values = getattr(event, "values", None) or ()
            for i, value in enumerate(values):
                if isinstance(value, int | float):
                    self._value(unit, address + i, float(value))

    def _add(self, spans: set[tuple[int, int, int]], span: tuple[int, int, int]) -> None:
        spans.add(span)
        if len(spans) > _MAX_RANGES:
            merged = {(u, a, b) for u, ranges in _by_unit(spans).items() for a, b in ranges}
            spans.clear()
            spans.update(merged)

    def _value(self, unit: int, address: int, value: float) -> None:
        known = self.values.get((unit, address))
        if known is None:
            self.values[(unit, address)] = [value, value]
        else:
            known[0] = min(known[0], value)
            known[1] = max(known[1], value)

    def finalize(self, duration_s: float) -> LinkBaseline:
        polls = []
        for (function, unit, address), learned in sorted(self.polls.items()):
            if len(learned.intervals) < _MIN_INTERVALS:
                continue
            period = statistics.median(learned.intervals)
            mad = statistics.median(abs(x - period) for x in learned.intervals)
            if period > 0 and mad <= period / 4:          # regular enough to be a poll
                polls.append(Poll(function, unit, address, period / 1e9, mad / 1e9,
                                  len(learned.intervals)))
        return LinkBaseline(
            self.client, self.server, self.protocol, self.first_ns, self.last_ns,
            set(self.functions), _by_unit(self.reads), _by_unit(self.writes),
            {k: (v[0], v[1]) for k, v in self.values.items()}, polls, self.requests,
            self.wrote, self.unsolicited / max(duration_s, 1.0))


def _by_unit(spans: set[tuple[int, int, int]]) -> dict[int, list[list[int]]]:
    units: dict[int, list[tuple[int, int]]] = {}
    for unit, low, high in spans:
        units.setdefault(unit, []).append((low, high))
    return {unit: merge(ranges) for unit, ranges in units.items()}


class BaselineLearner:
    def __init__(self) -> None:
        self.links: dict[tuple[str, str, str], LinkLearning] = {}
        self.zones: dict[str, dict[str, set[str]]] = {}
        self.first_ns: int | None = None
        self.last_ns = 0
        self.events = 0

    def link(self, client: str, server: str, protocol: str, ts_ns: int) -> LinkLearning:
        key = (client, server, protocol)
        link = self.links.get(key)
        if link is None:
            link = self.links[key] = LinkLearning(client, server, protocol, ts_ns, ts_ns)
        return link

    def host(self, zone: str, ip: str, protocol: str) -> None:
        parts = self.zones.setdefault(zone, {"hosts": set(), "protocols": set()})
        parts["hosts"].add(ip)
        parts["protocols"].add(protocol)

    def finalize(self, networks: dict[str, list[str]]) -> Baseline:
        first = self.first_ns if self.first_ns is not None else 0
        duration = (self.last_ns - first) / 1e9
        return Baseline({k: link.finalize(duration) for k, link in self.links.items()},
                        {z: {k: set(v) for k, v in parts.items()}
                         for z, parts in self.zones.items()},
                        first, self.last_ns, self.events, networks)
