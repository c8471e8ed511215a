"""The detection engine: sees every protocol event, learns or protects a baseline,
rebuilds multi-message operations, evaluates the rules and returns alerts.

    detector = Detector(rules=load_rules(), baseline=Baseline.load(path))
    alerts = detector.observe(event)          # usually the empty tuple
    alerts += detector.finish(last_ts)

Per kind of event (endpoints, protocol, operation, function, direction, exception) the
work is planned once and cached: a benign read on a known link costs the plan look-up,
the learned poll's time stamp and the threshold rules that watch reads."""

from __future__ import annotations

import collections
import ipaddress
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from isthmus.security.detect.alert import Alert
from isthmus.security.detect.baseline import Baseline
from isthmus.security.detect.learning import WRITING, BaselineLearner, LinkLearning
from isthmus.security.detect.protect import PollWatch, Protector
from isthmus.security.detect.refine import REFINEMENTS, refined
from isthmus.security.detect.rules import Rule, builtin_rules
from isthmus.security.detect.sequences import SEQUENCED, SINGLE, SequenceTracker
from isthmus.security.detect.signals import Signal
from isthmus.security.detect.windows import RuleState
from isthmus.security.detect.zones import Zones
from isthmus.security.events import ProtocolEvent

__all__ = ["IT_PROTOCOLS", "Detector"]

#: protocols of the IT world: a server of one of these is not thereby a controller
IT_PROTOCOLS = frozenset({"http", "https", "tls", "smb", "rdp", "vnc", "ssh", "dns", "ftp",
                          "telnet", "ntp", "snmp", "ldap", "kerberos"})
_NONE: tuple[Alert, ...] = ()
_TICK_NS = 1_000_000_000
_MAX_PLANS = 65_536
_MAX_LINKS = 1_000_000
_EVENT_FIELDS = ("unit_id", "address")
_Key = tuple[Any, ...]


@dataclass(slots=True)
class _RuleUse:
    """A rule that watches one kind of event: its state, the group key's fixed part and
    the event fields that complete it. When the group is fixed, its window (time stamps,
    or distinct values) is held here and updated in place."""

    state: RuleState
    group: tuple[Any, ...]
    dynamic: tuple[str, ...]
    distinct: str | None
    counts: collections.deque[int] | None = None
    values: dict[Any, int] | None = None
    count: int = 1
    within_ns: int = 0
    distinct_field: str = ""


@dataclass(slots=True)
class _Plan:
    client: str
    server: str
    request: bool
    operation: str
    function: str
    zones: tuple[str, str]
    controller: bool
    broadcast: bool
    rules: tuple[_RuleUse, ...]
    function_key: str = ""
    learn: LinkLearning | None = None
    watches: dict[tuple[str, int, int], PollWatch] | None = None
    writes: bool = False
    sequenced: bool = False
    unsolicited: bool = False
    extra: bool = False              # any of learn, watches, writes, sequenced, unsolicited
    flow: Any = None              # held, so that its id (in the plan's key) stays its own


class _Fields(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "?"


def _is_broadcast(ip: str) -> bool:
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return address.is_multicast or ip.endswith(".255")


class Detector:
    """Modes: `learn=True` learns a baseline (for `learn_for_s` seconds of capture time,
    then protects with it, calling `on_learned`; or for the whole capture); with
    `baseline` it protects; with neither it runs the rules that need no baseline."""

    def __init__(self, *, rules: Iterable[Rule] | None = None, zones: Zones | None = None,
                 baseline: Baseline | None = None, learn: bool = False,
                 learn_for_s: float | None = None, poll_factor: float = 5.0,
                 sequence_gap_s: float = 30.0,
                 on_learned: Callable[[Baseline], None] | None = None) -> None:
        self.zones = zones or Zones()
        self.rules = list(builtin_rules() if rules is None else rules)
        self._states = {r.id: RuleState(r) for r in self.rules}
        self._signal_states = [s for s in self._states.values() if s.rule.when.signal != "event"]
        self.learner = BaselineLearner() if learn else None
        self._learn_for_ns = int(learn_for_s * 1e9) if learn_for_s else None
        self._learn_until: int | None = None
        self._poll_factor = poll_factor
        self.protector = Protector(baseline, poll_factor=poll_factor) if baseline else None
        self._reports = Protector(Baseline())        # unsolicited checks without a baseline
        self.on_learned = on_learned
        self.sequences = SequenceTracker(gap_s=sequence_gap_s)
        self._plans: dict[_Key, _Plan] = {}
        self._polled: set[tuple[str, str, str]] = set()
        self._controllers: set[str] = set()
        if baseline is not None:
            self._controllers |= {s for (_, s, p) in baseline.links if p not in IT_PROTOCOLS}
        self._next_tick = 0                      # capture time of the next `_tick`
        self.first_ns: int | None = None
        self.last_ns = 0
        self.events = 0
        self.by_rule: collections.Counter[str] = collections.Counter()
        self.by_severity: collections.Counter[str] = collections.Counter()

    @property
    def mode(self) -> str:
        if self.learner is not None:
            return "learn"
        return "protect" if self.protector is not None else "detect"

    # ---- the per-event path --------------------------------------------------------

    def observe(self, event: ProtocolEvent) -> Sequence[Alert]:
        ts = event.ts_ns
        self.events += 1
        alerts: list[Alert] | None = None
        if ts > self.last_ns:
            self.last_ns = ts
            if ts >= self._next_tick:
                alerts = self._tick(ts)
        flow = event.flow
        operation = event.operation
        # the flow key's identity stands for its endpoints: a dissector reuses one key
        # object per direction, and the plan holds it, so its id is not reused meanwhile
        key: _Key = (id(flow), event.protocol, operation, getattr(event, "function", ""),
                     event.direction, getattr(event, "exception", None))
        if operation in REFINEMENTS:
            key += (getattr(event, "subfunction_name", None),)
        plan = self._plans.get(key)
        signals: list[Signal] | None = None
        if plan is None:
            signals = []
            plan = self._plan(event, key, signals)
        if plan.extra:
            signals = self._extra(event, plan, ts, signals)
        for use in plan.rules:
            counts = use.counts
            if counts is not None:                        # N events within T
                counts.append(ts)
                if len(counts) < use.count or ts - counts[0] > use.within_ns:
                    continue
                counts.clear()
                found = self._fire(use, event, plan, use.group, [event])
            elif use.values is not None:                  # N distinct values within T
                value = getattr(event, use.distinct_field, None)
                if value in use.values:
                    use.values[value] = ts
                    continue
                items = use.state.new_value(use.group, use.values, ts, event, value)
                found = None if items is None else \
                    self._fire(use, event, plan, use.group, items)
            else:
                found = self._count(use, event, plan)
            if found is not None:
                alerts = alerts or []
                alerts.append(found)
        if signals:
            alerts = alerts or []
            for signal in signals:
                alerts.extend(self._signal_alerts(signal))
        if alerts:
            self._tally(alerts)
            return alerts
        return _NONE

    def _extra(self, event: ProtocolEvent, plan: _Plan, ts: int,
               signals: list[Signal] | None) -> list[Signal] | None:
        """What a plan needs beyond its rules: learning, watched polls, writes checked
        against the baseline, operations rebuilt from messages, unsolicited reports."""
        learn = plan.learn
        if learn is not None:
            if ts > learn.last_ns:
                learn.last_ns = ts
            if plan.request:
                learn.request(event, plan.operation, plan.function, plan.function_key)
            elif plan.unsolicited:
                learn.unsolicited += 1
        watches = plan.watches
        if watches is not None:
            watch = watches.get((plan.function, getattr(event, "unit_id", None) or 0,
                                 getattr(event, "address", None) or 0))
            if watch is not None:
                watch.last_ns = ts
                watch.stopped = False
        if plan.writes or plan.sequenced or plan.unsolicited:
            signals = self._special(event, plan, signals or [])
        return signals

    def _special(self, event: ProtocolEvent, plan: _Plan,
                 signals: list[Signal]) -> list[Signal]:
        if plan.writes and self.protector is not None:
            signals.extend(self.protector.write(event, operation=plan.operation,
                                                function=plan.function, client=plan.client,
                                                server=plan.server))
        if plan.sequenced:
            signals.extend(self.sequences.feed(event, plan.operation, plan.function,
                                               plan.client, plan.server))
        if plan.unsolicited and self.learner is None:
            polled = (plan.client, plan.server, event.protocol) in self._polled
            reports = self.protector or self._reports
            signals.extend(reports.unsolicited(event, client=plan.client, server=plan.server,
                                               polled=polled))
        return signals

    def _count(self, use: _RuleUse, event: ProtocolEvent, plan: _Plan) -> Alert | None:
        """The general path: a group completed by the event's fields, or a single event."""
        group = use.group
        if use.dynamic:
            group += tuple(getattr(event, name, None) for name in use.dynamic)
        value = getattr(event, use.distinct, None) if use.distinct else None
        items = use.state.update(group, event.ts_ns, event, value)
        return None if items is None else self._fire(use, event, plan, group, items)

    def _fire(self, use: _RuleUse, event: ProtocolEvent, plan: _Plan,
              group: tuple[Any, ...], items: list[Any]) -> Alert | None:
        if not use.state.allow(group, event.ts_ns):
            return None
        rule = use.state.rule
        count = use.count if use.count > 1 and not use.distinct else len(items)
        fields = _Fields(client=plan.client, server=plan.server, protocol=event.protocol,
                         operation=plan.operation, function=plan.function,
                         direction=event.direction, count=count,
                         within_s=f"{rule.threshold.within_s:g}",
                         unit_id=getattr(event, "unit_id", "?"),
                         address=getattr(event, "address", "?"),
                         exception=getattr(event, "exception", None) or "",
                         client_zone=plan.zones[0], server_zone=plan.zones[1])
        detail: dict[str, Any] = {"operation": plan.operation, "function": plan.function}
        if use.distinct:
            values = sorted({str(getattr(i, use.distinct, None)) for i in items})
            fields["distinct"] = len(values)
            detail["distinct"] = {use.distinct: values[:64]}
        return Alert(event.ts_ns, rule.id, rule.name, rule.severity,
                     rule.message.format_map(fields), rule.techniques, plan.client,
                     plan.server, event.protocol, event.flow,
                     [i.summary() for i in items[-5:]], count, detail)

    # ---- planning (once per kind of event) -------------------------------------------

    def _plan(self, event: ProtocolEvent, key: _Key, signals: list[Signal]) -> _Plan:
        flow, protocol = event.flow, event.protocol
        request = event.direction == "request"
        client, server = (flow.src, flow.dst) if request else (flow.dst, flow.src)
        operation, function = refined(event)
        zones = (self.zones.zone(client), self.zones.zone(server))
        if protocol not in IT_PROTOCOLS:
            self._controllers.add(server)
        if request:
            if len(self._polled) >= _MAX_LINKS:        # bounded: forget, rather than grow
                self._polled.clear()
            self._polled.add((client, server, protocol))
        if len(self._controllers) >= _MAX_LINKS:
            self._controllers.clear()
        exception = getattr(event, "exception", None)
        controller, broadcast = server in self._controllers, _is_broadcast(flow.dst)
        uses = tuple(self._use(state, client, server, protocol, operation, function)
                     for state in self._states.values()
                     if state.rule.when.matches(
                         signal="event", operation=operation, protocol=protocol,
                         function=function, direction=event.direction, exception=exception,
                         client_zone=zones[0], server_zone=zones[1],
                         server_is_controller=controller, broadcast=broadcast))
        plan = _Plan(client, server, request, operation, function, zones, controller,
                     broadcast, uses, f"{operation}/{function}")
        plan.sequenced = request and (operation in SEQUENCED or operation in SINGLE)
        plan.unsolicited = operation == "unsolicited" and not request
        if self.learner is not None:
            plan.learn = self.learner.link(client, server, protocol, event.ts_ns)
            for ip, zone in ((client, zones[0]), (server, zones[1])):
                self.learner.host(zone, ip, protocol)
        elif self.protector is not None:
            signals.extend(self.protector.new_kind(
                ts=event.ts_ns, flow=flow, protocol=protocol, client=client, server=server,
                zones=zones, operation=operation, function=function, request=request))
            plan.writes = request and operation in WRITING
            if request and operation == "read":
                plan.watches = self.protector.watches.get((client, server, protocol))
        plan.extra = (plan.learn is not None or plan.watches is not None or plan.writes
                      or plan.sequenced or plan.unsolicited)
        plan.flow = flow
        if len(self._plans) >= _MAX_PLANS:
            self._plans.clear()
        self._plans[key] = plan
        return plan

    def _use(self, state: RuleState, client: str, server: str, protocol: str,
             operation: str, function: str) -> _RuleUse:
        fixed = {"client": client, "server": server, "protocol": protocol,
                 "operation": operation, "function": function}
        by = state.rule.threshold.group_by
        use = _RuleUse(state, tuple(fixed[f] for f in by if f in fixed),
                       tuple(f for f in by if f in _EVENT_FIELDS),
                       state.rule.threshold.distinct)
        use.count, use.within_ns = state.count, state.within_ns
        use.distinct_field = use.distinct or ""
        if not use.dynamic and state.count > 1:
            if use.distinct is None:
                use.counts = state.counts(use.group)
            else:
                use.values = state.values(use.group)
        return use

    # ---- signals: operations and deviations ------------------------------------------

    def _signal_alerts(self, signal: Signal) -> list[Alert]:
        out: list[Alert] = []
        zones = (self.zones.zone(signal.client), self.zones.zone(signal.server))
        operation = str(signal.detail.get("operation", signal.name))
        function = str(signal.detail.get("function", ""))
        for state in self._signal_states:
            when = state.rule.when
            if not when.matches(signal=signal.kind, operation=operation,
                                protocol=signal.protocol, function=function, direction="",
                                exception=None, client_zone=zones[0], server_zone=zones[1],
                                server_is_controller=signal.server in self._controllers,
                                deviation=signal.name if signal.kind == "deviation" else None,
                                detail=signal.detail):
                continue
            fixed = {"client": signal.client, "server": signal.server,
                     "protocol": signal.protocol, "operation": operation,
                     "function": function, "unit_id": signal.detail.get("unit_id"),
                     "address": signal.detail.get("address")}
            group = tuple(fixed.get(f) for f in state.rule.threshold.group_by)
            if state.update(group, signal.ts_ns, signal) is None \
                    or not state.allow(group, signal.ts_ns):
                continue
            rule = state.rule
            fields = _Fields({**signal.detail, "message": signal.message,
                              "client": signal.client, "server": signal.server,
                              "protocol": signal.protocol, "operation": operation,
                              "function": function, "deviation": signal.name,
                              "count": signal.count, "client_zone": zones[0],
                              "server_zone": zones[1]})
            out.append(Alert(signal.ts_ns, rule.id, rule.name, rule.severity,
                             rule.message.format_map(fields), rule.techniques, signal.client,
                             signal.server, signal.protocol, signal.flow,
                             list(signal.evidence), signal.count,
                             {"signal": signal.kind, "name": signal.name, **signal.detail}))
        return out

    def _tick(self, ts: int) -> list[Alert] | None:
        """Once per second of capture time: the end of a timed learning period, stopped
        polls, operations whose messages stopped coming."""
        self._next_tick = ts + _TICK_NS
        if self.first_ns is None:
            self.first_ns = ts
        if self.learner is not None and self._learn_for_ns is not None:
            if self._learn_until is None:
                self._learn_until = ts + self._learn_for_ns
            elif ts >= self._learn_until:
                self._switch_to_protect(ts)
        if self.protector is not None and self.protector.started_ns is None:
            self.protector.start(ts)
        signals = self.sequences.expire(ts)
        if self.protector is not None:
            signals += self.protector.tick(ts)
        alerts = [a for s in signals for a in self._signal_alerts(s)]
        return alerts or None                     # counted by `observe`, which returns them

    def _switch_to_protect(self, ts: int) -> None:
        baseline = self.learned()
        self.learner = None
        self.protector = Protector(baseline, poll_factor=self._poll_factor)
        self.protector.start(ts)
        self._plans.clear()
        if self.on_learned is not None:
            self.on_learned(baseline)

    def learned(self) -> Baseline:
        """The baseline learned so far (learning mode) or being protected."""
        if self.learner is not None:
            self.learner.events = self.events
            self.learner.first_ns = self.first_ns
            self.learner.last_ns = self.last_ns
            return self.learner.finalize(self.zones.describe())
        if self.protector is not None:
            return self.protector.baseline
        raise ValueError("this detector neither learns nor protects a baseline")

    def finish(self, now_ns: int | None = None) -> list[Alert]:
        """End of input: report unfinished operations and stopped polls as of `now_ns`
        (default: the last event's time)."""
        now = self.last_ns if now_ns is None else max(now_ns, self.last_ns)
        signals = self.sequences.expire(now, force=True)
        if self.protector is not None and self.protector.started_ns is not None:
            signals += self.protector.tick(now)
        alerts = [a for s in signals for a in self._signal_alerts(s)]
        self._tally(alerts)
        return alerts

    def _tally(self, alerts: list[Alert]) -> None:
        for alert in alerts:
            self.by_rule[f"{alert.rule_id} {alert.rule_name}"] += 1
            self.by_severity[alert.severity.name.lower()] += 1
