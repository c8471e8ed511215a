"""Per-rule counting state: "N events within T seconds" and "N distinct values within T
seconds", per group (client, server, …), plus suppression of repeated alerts.

The structures of a group are shared by every kind of event that counts in it, so the
engine can hold them and update them in place: a time stamp appended to a bounded deque,
or a value's time stamp set in a dict. Windows are pruned only when they may fire. State
is bounded: past `max_groups` groups, the oldest group is forgotten."""

from __future__ import annotations

import collections
from typing import Any

from isthmus.security.detect.rules import Rule

__all__ = ["RuleState"]

_Group = tuple[Any, ...]


class RuleState:
    def __init__(self, rule: Rule, *, max_groups: int = 10_000) -> None:
        self.rule = rule
        threshold = rule.threshold
        self.count = threshold.count
        self.within_ns = int(threshold.within_s * 1e9)
        self.distinct = threshold.distinct
        self.suppress_ns = int(rule.suppress_s * 1e9)
        self.max_groups = max_groups
        self._counts: dict[_Group, collections.deque[int]] = {}
        self._values: dict[_Group, dict[Any, int]] = {}
        self._samples: dict[_Group, dict[Any, Any]] = {}
        self._last_alert: dict[_Group, int] = {}
        self.fired = 0
        self.suppressed = 0

    def counts(self, group: _Group) -> collections.deque[int]:
        """The time stamps of the group's latest events (at most `count`)."""
        window = self._counts.get(group)
        if window is None:
            if len(self._counts) >= self.max_groups:
                del self._counts[next(iter(self._counts))]
            window = self._counts[group] = collections.deque(maxlen=self.count)
        return window

    def values(self, group: _Group) -> dict[Any, int]:
        """Distinct value → when it was last seen, for the group."""
        seen = self._values.get(group)
        if seen is None:
            if len(self._values) >= self.max_groups:
                evicted = next(iter(self._values))
                del self._values[evicted]
                self._samples.pop(evicted, None)
            seen = self._values[group] = {}
        return seen

    def update(self, group: _Group, ts: int, item: Any, value: Any = None) -> list[Any] | None:
        """Count `item` (an event or signal) in `group`; the items that make the threshold
        reached when it is, else None."""
        if self.count == 1:
            return [item]
        if self.distinct is not None:
            seen = self.values(group)
            if value in seen:
                seen[value] = ts
                return None
            return self.new_value(group, seen, ts, item, value)
        window = self.counts(group)
        window.append(ts)
        if len(window) == self.count and ts - window[0] <= self.within_ns:
            window.clear()
            return [item]
        return None

    def new_value(self, group: _Group, seen: dict[Any, int], ts: int, item: Any,
                  value: Any) -> list[Any] | None:
        """A value not yet in the group's window: the items (one per value, oldest first)
        when the count of distinct values within the window reaches the threshold."""
        seen[value] = ts
        samples = self._samples.setdefault(group, {})
        samples[value] = item
        if len(seen) < self.count:
            return None
        oldest = ts - self.within_ns
        for stale in [v for v, t in seen.items() if t < oldest]:
            del seen[stale]
            samples.pop(stale, None)
        if len(seen) < self.count:
            return None
        items = [samples[v] for v in sorted(seen, key=seen.__getitem__) if v in samples]
        seen.clear()
        samples.clear()
        return items

    def allow(self, group: _Group, ts: int) -> bool:
        """Whether an alert for `group` at `ts` goes out (not suppressed)."""
        last = self._last_alert.get(group)
        if last is not None and 0 <= ts - last < self.suppress_ns:
            self.suppressed += 1
            return False
        if last is None and len(self._last_alert) >= self.max_groups:
            del self._last_alert[next(iter(self._last_alert))]
        self._last_alert[group] = ts
        self.fired += 1
        return True
