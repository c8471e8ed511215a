"""Protect mode: compares traffic with a learned `Baseline` and raises deviations as
`Signal`s — new host, protocol, link or function; writes outside the learned addresses or
values; a new master; a periodic poll that stopped; unsolicited reports from a host that
is not the link's outstation or at a rate far above the learned one.

Each once-only deviation (new link, new function, new master …) is raised once per run."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from isthmus.security.detect.baseline import Baseline, LinkBaseline
from isthmus.security.detect.intervals import contains
from isthmus.security.detect.signals import Signal
from isthmus.security.events import FlowKey, ProtocolEvent

__all__ = ["PollWatch", "Protector"]

_UNSOLICITED_WINDOW_NS = 60 * 1_000_000_000
_MAX_REPORTED = 200_000


@dataclass(slots=True)
class PollWatch:
    """A learned poll: when it was last seen, how long a silence means it stopped."""

    function: str
    unit_id: int
    address: int
    period_ns: int
    limit_ns: int
    last_ns: int = 0
    stopped: bool = False


class Protector:
    def __init__(self, baseline: Baseline, *, poll_factor: float = 5.0) -> None:
        self.baseline = baseline
        self.poll_factor = poll_factor
        self._reported: set[tuple[Any, ...]] = set()
        self.watches: dict[tuple[str, str, str], dict[tuple[str, int, int], PollWatch]] = {}
        for key, link in baseline.links.items():
            polls = {}
            for poll in link.polls:
                period = int(poll.period_s * 1e9)
                limit = max(int(poll_factor * period), period + int(10 * poll.mad_s * 1e9))
                polls[(poll.function, poll.unit_id, poll.address)] = PollWatch(
                    poll.function, poll.unit_id, poll.address, period, limit)
            if polls:
                self.watches[key] = polls
        self._unsolicited: dict[tuple[str, str, str], list[int]] = {}
        self.started_ns: int | None = None

    def start(self, ts_ns: int) -> None:
        """Protection starts at `ts_ns`: every learned poll is due from then on."""
        self.started_ns = ts_ns
        for polls in self.watches.values():
            for watch in polls.values():
                watch.last_ns = ts_ns

    def _once(self, key: tuple[Any, ...]) -> bool:
        if key in self._reported:
            return False
        if len(self._reported) >= _MAX_REPORTED:
            self._reported.clear()
        self._reported.add(key)
        return True

    def new_kind(self, *, ts: int, flow: FlowKey, protocol: str, client: str, server: str,
                 zones: tuple[str, str], operation: str, function: str,
                 request: bool) -> list[Signal]:
        """Deviations decided by what a message is and who sent it to whom (checked once per
        kind of message, not per message)."""
        out: list[Signal] = []
        base = self.baseline
        for ip, zone in ((client, zones[0]), (server, zones[1])):
            if zone == "ot" and ip not in base.zone_hosts("ot") and self._once(("host", ip)):
                out.append(Signal("deviation", "new_host", ts, protocol, client, server,
                                  f"new host {ip} in the OT zone ({protocol})", flow,
                                  detail={"host": ip, "zone": zone}))
            if zone == "ot" and protocol not in base.zone_protocols("ot") \
                    and self._once(("protocol", zone, protocol)):
                out.append(Signal("deviation", "new_protocol", ts, protocol, client, server,
                                  f"new protocol {protocol} in the OT zone "
                                  f"({client} → {server})", flow,
                                  detail={"zone": zone, "protocol": protocol}))
        link = base.links.get((client, server, protocol))
        if link is None:
            if self._once(("link", client, server, protocol)):
                out.append(Signal("deviation", "new_link", ts, protocol, client, server,
                                  f"new {protocol} link {client} → {server}", flow,
                                  detail={"operation": operation, "function": function}))
        elif request and f"{operation}/{function}" not in link.functions \
                and self._once(("function", client, server, protocol, operation, function)):
            out.append(Signal("deviation", "new_function", ts, protocol, client, server,
                              f"new function {function} ({operation}) on the {protocol} "
                              f"link {client} → {server}", flow,
                              detail={"operation": operation, "function": function,
                                      "learned": sorted(link.functions)}))
        return out

    def write(self, event: ProtocolEvent, *, operation: str, function: str, client: str,
              server: str) -> list[Signal]:
        """Deviations of one write/operate request."""
        out: list[Signal] = []
        protocol, ts, flow = event.protocol, event.ts_ns, event.flow
        link = self.baseline.links.get((client, server, protocol))
        if (link is None or not link.wrote) and self._once(("master", client, server,
                                                            protocol)):
            out.append(Signal("deviation", "new_master", ts, protocol, client, server,
                              f"{client} {operation}s to {server} ({protocol} {function}) "
                              f"but never did before", flow, [event.summary()],
                              detail={"operation": operation, "function": function,
                                      "new_link": link is None}))
        address = getattr(event, "address", None)
        if link is None or address is None:
            return out
        unit = getattr(event, "unit_id", None) or 0
        quantity = getattr(event, "quantity", None) or 1
        high = address + quantity - 1
        detail = {"operation": operation, "function": function, "unit_id": unit,
                  "address": address, "quantity": quantity}
        if not contains(link.writes.get(unit, []), address, high):
            out.append(Signal("deviation", "write_address", ts, protocol, client, server,
                              f"{function} to unit {unit} addresses {address}–{high} of "
                              f"{server}, outside the learned write ranges "
                              f"{link.writes.get(unit, [])}", flow, [event.summary()],
                              detail=detail | {"learned": link.writes.get(unit, [])}))
        out.extend(self._values(event, link, unit, address, detail))
        return out

    def _values(self, event: ProtocolEvent, link: LinkBaseline, unit: int, address: int,
                detail: dict[str, Any]) -> list[Signal]:
        values = getattr(event, "values", None) or ()
        for i, value in enumerate(values):
            learned = link.write_values.get((unit, address + i))
            if learned is None or not isinstance(value, int | float):
                continue
            low, high = learned
            if not low <= value <= high:
                return [Signal("deviation", "write_value", event.ts_ns, event.protocol,
                               link.client, link.server,
                               f"{link.client} wrote {value} to unit {unit} address "
                               f"{address + i} of {link.server}, outside the learned range "
                               f"{low:g}–{high:g}", event.flow, [event.summary()],
                               detail=detail | {"address": address + i, "value": value,
                                                "learned_min": low, "learned_max": high})]
        return []

    def unsolicited(self, event: ProtocolEvent, *, client: str, server: str,
                    polled: bool) -> list[Signal]:
        """An unsolicited report from `server` (the outstation side) to `client`."""
        out: list[Signal] = []
        protocol, ts = event.protocol, event.ts_ns
        key = (client, server, protocol)
        link = self.baseline.links.get(key)
        if not polled and (link is None or link.requests == 0) \
                and self._once(("unsolicited", client, server, protocol)):
            out.append(Signal("deviation", "unsolicited_not_outstation", ts, protocol, client,
                              server, f"unsolicited {protocol} responses from {server} to "
                              f"{client}, which never polled it", event.flow,
                              [event.summary()]))
        window = self._unsolicited.get(key)
        if window is None or ts - window[0] > _UNSOLICITED_WINDOW_NS:
            window = self._unsolicited[key] = [ts, 0]
        window[1] += 1
        rate = link.unsolicited_per_s if link is not None else 0.0
        limit = max(10, int(10 * rate * _UNSOLICITED_WINDOW_NS / 1e9))
        if window[1] == limit + 1:
            out.append(Signal("deviation", "unsolicited_rate", ts, protocol, client, server,
                              f"{window[1]} unsolicited {protocol} responses from {server} in "
                              f"{(ts - window[0]) / 1e9:.1f} s (learned {rate:.3f}/s)",
                              event.flow, [event.summary()], window[1],
                              {"learned_per_s": rate, "limit": limit}))
        return out

    def tick(self, now_ns: int) -> list[Signal]:
        """Polls silent for longer than their limit (once until they resume)."""
        out: list[Signal] = []
        for (client, server, protocol), polls in self.watches.items():
            for watch in polls.values():
                silent = now_ns - watch.last_ns
                if watch.stopped or silent <= watch.limit_ns:
                    continue
                watch.stopped = True
                out.append(Signal(
                    "deviation", "poll_stopped", now_ns, protocol, client, server,
                    f"periodic {watch.function} of unit {watch.unit_id} address "
                    f"{watch.address} by {client} from {server} stopped: silent "
                    f"{silent / 1e9:.1f} s, learned period {watch.period_ns / 1e9:.3f} s",
                    None, detail={"function": watch.function, "unit_id": watch.unit_id,
                                  "address": watch.address,
                                  "period_s": watch.period_ns / 1e9,
                                  "silent_s": silent / 1e9}))
        return out
