"""Vectorised evaluation of every alarm's condition over a batch.

Samples are joined to the alarms that read their tag (as process value, setpoint or
suppression input), sorted by (alarm, time), and evaluated with numpy: held values are
forward-filled within each alarm's rows, deadband hysteresis is a forward fill of the last
set/reset, and only the rows where a condition or a suppression flips come back to Python.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
import numpy.typing as npt

from isthmus.analytics.alarms.spec import AlarmSpec
from isthmus.config.alarms import AlarmKind
from isthmus.model import SampleBatch

__all__ = ["ConditionChanges", "ConditionTable"]

BoolArray = npt.NDArray[np.bool_]
FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
G = TypeVar("G", bound=np.generic)

# role order also breaks ties at equal timestamps: inputs that gate a value come first
_SUPPRESS, _SETPOINT, _VALUE = 0, 1, 2
_KINDS = list(AlarmKind)
_THRESHOLD = [AlarmKind.HI, AlarmKind.HIHI, AlarmKind.LO, AlarmKind.LOLO, AlarmKind.RATE,
              AlarmKind.DEVIATION]
_OPS = {"eq": 1, "lt": 2, "gt": 3}


@dataclass(frozen=True, slots=True)
class ConditionChanges:
    """Rows where an alarm's raw condition or its suppression flipped, by alarm then time."""

    alarm: IntArray
    ts: IntArray
    raw: BoolArray
    raw_changed: BoolArray
    suppress: BoolArray
    suppress_changed: BoolArray
    value: FloatArray
    setpoint: FloatArray
    #: for a stale alarm whose tag was silent too long inside the batch: when it went stale
    #: (the row's sample then clears it); -1 elsewhere
    stale_since: IntArray

    def __len__(self) -> int:
        return len(self.alarm)


def _role_table(pairs: list[tuple[int, int]]) -> tuple[IntArray, IntArray]:
    arr = np.array(pairs, dtype=np.int64).reshape(-1, 2)
    order = np.argsort(arr[:, 0], kind="stable")
    return arr[order, 0], arr[order, 1]


def _join(tags: IntArray, alarms: IntArray, sample_tags: IntArray) -> tuple[IntArray, IntArray]:
    """(sample index, alarm index) for every pair of a sample and an alarm reading its tag."""
    lo = np.searchsorted(tags, sample_tags, "left")
    counts = np.searchsorted(tags, sample_tags, "right") - lo
    total = int(counts.sum())
    samples = np.repeat(np.arange(len(sample_tags), dtype=np.int64), counts)
    starts = np.cumsum(counts) - counts
    pos = np.arange(total, dtype=np.int64) - np.repeat(starts, counts) + np.repeat(lo, counts)
    return samples, alarms[pos]


class _Rows:
    """Joined rows of one batch, sorted by (alarm, ts, role), with segment bookkeeping."""

    def __init__(self, alarm: IntArray, role: IntArray, ts: IntArray, value: FloatArray,
                 quality: npt.NDArray[np.uint32]) -> None:
        order = np.lexsort((role, ts, alarm))
        self.alarm, self.role, self.ts = alarm[order], role[order], ts[order]
        self.value, self.quality = value[order], quality[order]
        n = len(self.alarm)
        self.index = np.arange(n, dtype=np.int64)
        starts = np.ones(n, dtype=bool)
        starts[1:] = self.alarm[1:] != self.alarm[:-1]
        self.first = np.maximum.accumulate(np.where(starts, self.index, 0))
        self.ends = np.ones(n, dtype=bool)
        self.ends[:-1] = starts[1:]
        self.good = ((self.quality & np.uint32(0xC0000000)) == 0) & np.isfinite(self.value)

    def last_where(self, has: BoolArray) -> IntArray:
        """Index of the latest row at or before each row (same alarm) where `has`, else -1."""
        last = np.maximum.accumulate(np.where(has, self.index, -1))
        return np.where(last >= self.first, last, -1)

    def fill(self, has: BoolArray, values: npt.NDArray[G],
             carry: npt.NDArray[G]) -> npt.NDArray[G]:
        """`values` held forward within each alarm's rows; before the first, the carry-in."""
        last = self.last_where(has)
        return np.where(last >= 0, values[np.maximum(last, 0)], carry[self.alarm])

    def previous(self, values: npt.NDArray[G], carry: npt.NDArray[G]) -> npt.NDArray[G]:
        """Each row's predecessor within its alarm (the carry-in for the first row)."""
        prev = np.empty_like(values)
        prev[1:] = values[:-1]
        starts = self.first == self.index
        prev[starts] = carry[self.alarm[starts]]
        return prev


class ConditionTable:
    """Every alarm's definition as arrays, and the state carried from batch to batch."""

    def __init__(self, specs: Sequence[AlarmSpec]) -> None:
        n = len(specs)
        self.kind = np.array([_KINDS.index(s.kind) for s in specs], dtype=np.int64)
        self.stale_after = np.array([s.stale_after_ns for s in specs], dtype=np.int64)
        self._init_thresholds(specs)
        width = max((len(s.states) for s in specs), default=0) or 1
        self.states = np.full((n, width), np.nan)
        for i, s in enumerate(specs):
            self.states[i, : len(s.states)] = s.states
        sup = [s.suppression for s in specs]
        self.sup_op = np.array([0 if c is None else _OPS[c.op] for c in sup], dtype=np.int64)
        self.sup_value = np.array([np.nan if c is None else c.value for c in sup])
        self.roles = [
            _role_table([(c.tag_id, i) for i, c in enumerate(sup) if c is not None]),
            _role_table([(s.setpoint_tag_id, i) for i, s in enumerate(specs)
                         if s.setpoint_tag is not None]),
            _role_table([(s.tag_id, i) for i, s in enumerate(specs)]),
        ]
        self.tags = np.unique(np.concatenate([t for t, _ in self.roles]))
        # state carried between batches
        self.raw = np.zeros(n, dtype=bool)
        self.suppress = np.zeros(n, dtype=bool)
        self.value = np.full(n, np.nan)
        self.setpoint = np.array([s.setpoint_value for s in specs], dtype=np.float64)
        self.rate_value = np.full(n, np.nan)
        self.rate_ts = np.zeros(n, dtype=np.int64)
        self.last_seen = np.full(n, -1, dtype=np.int64)

    def _init_thresholds(self, specs: Sequence[AlarmSpec]) -> None:
        low = {AlarmKind.LO, AlarmKind.LOLO}
        self.sign = np.array([-1.0 if s.kind in low or s.direction == "low" else 1.0
                              for s in specs])
        self.absolute = np.array([s.kind in (AlarmKind.RATE, AlarmKind.DEVIATION)
                                  and s.direction == "both" for s in specs], dtype=bool)
        self.threshold = np.array([-s.limit if s.kind in low else s.limit for s in specs])
        self.deadband = np.array([s.deadband for s in specs])

    def relevant(self, batch: SampleBatch) -> SampleBatch:
        """The batch's samples of tags that some alarm reads."""
        return batch.take(np.isin(batch.tag_id, self.tags))

    def evaluate(self, batch: SampleBatch) -> ConditionChanges:
        """Advance every alarm's raw condition and suppression over `batch`; return the flips."""
        parts = [(*_join(tags, alarms, batch.tag_id.astype(np.int64)), role)
                 for role, (tags, alarms) in enumerate(self.roles)]
        samples = np.concatenate([p[0] for p in parts])
        rows = _Rows(np.concatenate([p[1] for p in parts]),
                     np.concatenate([np.full(len(p[0]), p[2], dtype=np.int64) for p in parts]),
                     batch.ts[samples], batch.value[samples], batch.quality[samples])
        if len(rows.alarm) == 0:
            return _no_changes()
        return self._advance(rows)

    def _advance(self, rows: _Rows) -> ConditionChanges:
        is_value = rows.role == _VALUE
        pv_good = is_value & rows.good
        sp_good = (rows.role == _SETPOINT) & rows.good
        pv = rows.fill(pv_good, rows.value, self.value)
        sp = rows.fill(sp_good, rows.value, self.setpoint)
        measured, valid = self._measured(rows, pv_good, sp_good, pv, sp)
        set_, reset = self._set_reset(rows, measured, valid, pv_good, is_value, pv)
        raw = rows.fill(set_ | reset, set_, self.raw).astype(bool)
        raw_prev = rows.previous(raw, self.raw)
        suppress = self._suppression(rows)
        sup_prev = rows.previous(suppress, self.suppress)
        stale_since = self._stale_gaps(rows, is_value, raw_prev)
        self._carry_out(rows, raw, suppress, pv, sp, is_value, pv_good)
        raw_changed = (raw != raw_prev) | (stale_since >= 0)
        changed = raw_changed | (suppress != sup_prev)
        shown = np.where(self.kind[rows.alarm] == _KINDS.index(AlarmKind.RATE), measured, pv)
        return ConditionChanges(
            rows.alarm[changed], rows.ts[changed], raw[changed], raw_changed[changed],
            suppress[changed], (suppress != sup_prev)[changed], shown[changed], sp[changed],
            stale_since[changed])

    def _stale_gaps(self, rows: _Rows, is_value: BoolArray, raw_prev: BoolArray) -> IntArray:
        """Where a stale alarm's tag was silent for longer than allowed between two of its
        samples in this batch: the moment it went stale, else -1."""
        has = is_value & (self.kind[rows.alarm] == _KINDS.index(AlarmKind.STALE))
        last = rows.last_where(has)
        prev = rows.previous(last, np.full(len(self.kind), -1, dtype=np.int64))
        prev_ts = np.where(prev >= 0, rows.ts[np.maximum(prev, 0)], self.last_seen[rows.alarm])
        since = prev_ts + self.stale_after[rows.alarm]
        gap = has & ~raw_prev & (prev_ts >= 0) & (rows.ts >= since)
        return np.where(gap, since, -1)

    def _rate(self, rows: _Rows, pv_good: BoolArray) -> tuple[FloatArray, BoolArray]:
        has = pv_good & (self.kind[rows.alarm] == _KINDS.index(AlarmKind.RATE))
        last = rows.last_where(has)
        prev = rows.previous(last, np.full(len(self.kind), -1, dtype=np.int64))
        prev_v = np.where(prev >= 0, rows.value[np.maximum(prev, 0)], self.rate_value[rows.alarm])
        prev_t = np.where(prev >= 0, rows.ts[np.maximum(prev, 0)], self.rate_ts[rows.alarm])
        dt = (rows.ts - prev_t).astype(np.float64) / 1e9
        ok = has & (dt > 0) & np.isfinite(prev_v)
        with np.errstate(divide="ignore", invalid="ignore"):
            rate = np.where(ok, (rows.value - prev_v) / np.where(ok, dt, 1.0), np.nan)
        return rate, ok

    def _measured(self, rows: _Rows, pv_good: BoolArray, sp_good: BoolArray, pv: FloatArray,
                  sp: FloatArray) -> tuple[FloatArray, BoolArray]:
        """The number each threshold alarm compares with its limit, oriented so that higher is
        worse, and where it is known afresh."""
        kind = self.kind[rows.alarm]
        rate, rate_ok = self._rate(rows, pv_good)
        is_dev = kind == _KINDS.index(AlarmKind.DEVIATION)
        is_rate = kind == _KINDS.index(AlarmKind.RATE)
        base = np.where(is_rate, rate, np.where(is_dev, pv - sp, pv))
        valid = np.where(is_rate, rate_ok, np.where(is_dev, pv_good | sp_good, pv_good))
        valid &= np.isfinite(base) & np.isin(kind, [_KINDS.index(k) for k in _THRESHOLD])
        a = rows.alarm
        measured = np.where(self.absolute[a], np.abs(base), self.sign[a] * base)
        return measured, valid

    def _set_reset(self, rows: _Rows, measured: FloatArray, valid: BoolArray, pv_good: BoolArray,
                   is_value: BoolArray, pv: FloatArray) -> tuple[BoolArray, BoolArray]:
        a, kind = rows.alarm, self.kind[rows.alarm]
        threshold = self.threshold[a]
        set_ = valid & (measured > threshold)
        reset = valid & (measured <= threshold - self.deadband[a])
        in_state = (pv[:, None] == self.states[a]).any(axis=1)
        state_rows = pv_good & (kind == _KINDS.index(AlarmKind.STATE))
        set_ |= state_rows & in_state
        reset |= state_rows & ~in_state
        bad = (rows.quality & np.uint32(0x80000000)) != 0
        quality_rows = is_value & (kind == _KINDS.index(AlarmKind.BAD_QUALITY))
        set_ |= quality_rows & bad
        reset |= quality_rows & ~bad
        # a stale alarm is set by the engine's clock; any sample of its tag resets it
        reset |= is_value & (kind == _KINDS.index(AlarmKind.STALE))
        return set_, reset

    def _suppression(self, rows: _Rows) -> BoolArray:
        op, ref = self.sup_op[rows.alarm], self.sup_value[rows.alarm]
        has = (rows.role == _SUPPRESS) & rows.good
        v = rows.value
        meets = ((op == 1) & (v == ref)) | ((op == 2) & (v < ref)) | ((op == 3) & (v > ref))
        return rows.fill(has, meets, self.suppress).astype(bool)

    def _carry_out(self, rows: _Rows, raw: BoolArray, suppress: BoolArray, pv: FloatArray,
                   sp: FloatArray, is_value: BoolArray, pv_good: BoolArray) -> None:
        end = rows.ends
        a = rows.alarm[end]
        self.raw[a], self.suppress[a] = raw[end], suppress[end]
        self.value[a], self.setpoint[a] = pv[end], sp[end]
        rate_rows = pv_good & (self.kind[rows.alarm] == _KINDS.index(AlarmKind.RATE))
        last_rate = rows.last_where(rate_rows)[end]
        moved = last_rate >= 0
        self.rate_value[a[moved]] = rows.value[last_rate[moved]]
        self.rate_ts[a[moved]] = rows.ts[last_rate[moved]]
        last_value = rows.last_where(is_value)[end]
        seen = last_value >= 0
        self.last_seen[a[seen]] = np.maximum(self.last_seen[a[seen]], rows.ts[last_value[seen]])


def _no_changes() -> ConditionChanges:
    empty_i = np.zeros(0, dtype=np.int64)
    empty_b = np.zeros(0, dtype=bool)
    empty_f = np.zeros(0)
    return ConditionChanges(empty_i, empty_i, empty_b, empty_b, empty_b, empty_b, empty_f,
                            empty_f, empty_i)
