"""Turn the samples of a tag group in a batch into rows: one row per distinct timestamp at
which any tag of the group reported, each tag holding its latest value (sample and hold).

`GroupRouter` splits a batch among all groups in one pass (one lookup and one stable sort
per batch instead of a membership test per group)."""

from __future__ import annotations

import itertools

import numpy as np
import numpy.typing as npt

from isthmus.model import SampleBatch

__all__ = ["GroupRouter", "GroupRows"]

Matrix = npt.NDArray[np.float64]
Times = npt.NDArray[np.int64]
Ints = npt.NDArray[np.int64]

_BAD = np.uint32(0x80000000)


def _good(batch: SampleBatch) -> npt.NDArray[np.bool_]:
    # bad-quality samples (OPC UA severity bit set) say nothing about the process
    good: npt.NDArray[np.bool_] = (batch.quality & _BAD) == 0
    return good


def _column_table(tag_ids: npt.NDArray[np.int32], size: int) -> Ints:
    """tag id → column in the group, -1 for tags outside it."""
    table = np.full(size, -1, dtype=np.int64)
    table[tag_ids] = np.arange(tag_ids.size)
    return table


def _lookup(table: Ints, tag_id: npt.NDArray[np.int32]) -> Ints:
    inside = (tag_id >= 0) & (tag_id < table.size)
    if inside.all():
        return table[tag_id]
    return np.where(inside, table[np.where(inside, tag_id, 0)], -1)


class GroupRows:
    def __init__(self, tag_ids: list[int]) -> None:
        self.tag_ids = np.array(tag_ids, dtype=np.int32)
        size = int(self.tag_ids.max()) + 1 if self.tag_ids.size else 0
        self._columns = _column_table(self.tag_ids, size)
        self._last = np.full(len(tag_ids), np.nan)
        self._last_ts: int | None = None

    def rows(self, batch: SampleBatch) -> tuple[Times, Matrix]:
        """Rows of this batch, in time order; samples older than the last row are dropped
        (each batch is seen once, in order)."""
        column = _lookup(self._columns, batch.tag_id)
        mine = (column >= 0) & _good(batch)
        return self.rows_of(batch.ts[mine], column[mine], batch.value[mine])

    def rows_of(self, ts: Times, column: Ints, value: Matrix) -> tuple[Times, Matrix]:
        """Rows from this group's good samples of one batch, in batch order (`column` is
        the tag's position in the group)."""
        if self._last_ts is not None:
            newer = ts > self._last_ts
            if not newer.all():
                ts, column, value = ts[newer], column[newer], value[newer]
        if not ts.size:
            return np.empty(0, dtype=np.int64), np.empty((0, self.tag_ids.size))
        first = ts[0]
        if (ts == first).all():  # the usual case: one scan of the group, one row
            row = self._last.copy()
            finite = np.isfinite(value)  # NaN is no value: the tag holds its last one
            row[column[finite]] = value[finite]  # the last sample of a timestamp wins
            self._last, self._last_ts = row, int(first)
            return np.array([first], dtype=np.int64), row.copy()[None, :]
        order = np.argsort(ts, kind="stable")
        ts, column, value = ts[order], column[order], value[order]
        times, row_of = np.unique(ts, return_inverse=True)
        table = np.full((times.size + 1, self.tag_ids.size), np.nan)
        table[0] = self._last
        table[row_of + 1, column] = value
        # forward fill: each cell takes the latest row at or above it that has a value
        seen = np.where(np.isfinite(table), np.arange(table.shape[0])[:, None], 0)
        np.maximum.accumulate(seen, axis=0, out=seen)
        filled = table[seen, np.arange(table.shape[1])[None, :]]
        self._last = filled[-1].copy()
        self._last_ts = int(times[-1])
        return times.astype(np.int64), filled[1:]


class GroupRouter:
    """The good samples of a batch, split by group: `split(batch)` yields, per group in the
    order given, its (ts, column, value). A tag may belong to several groups."""

    def __init__(self, groups: list[npt.NDArray[np.int32]]) -> None:
        self._groups = len(groups)
        size = max((int(g.max()) + 1 for g in groups if g.size), default=0)
        owners = np.concatenate(groups) if groups else np.empty(0, np.int32)
        self._shared = np.unique(owners).size != owners.size
        if self._shared:  # rare: one table per group
            self._tables = [_column_table(g, size) for g in groups]
            return
        self._group_of = np.full(size, -1, dtype=np.int64)
        self._column_of = np.full(size, -1, dtype=np.int64)
        for index, tags in enumerate(groups):
            self._group_of[tags] = index
            self._column_of[tags] = np.arange(tags.size)

    def split(self, batch: SampleBatch) -> list[tuple[Times, Ints, Matrix]]:
        good = _good(batch)
        if self._shared:
            parts = []
            for table in self._tables:
                column = _lookup(table, batch.tag_id)
                member = (column >= 0) & good
                parts.append((batch.ts[member], column[member], batch.value[member]))
            return parts
        group = _lookup(self._group_of, batch.tag_id)
        mine = np.flatnonzero((group >= 0) & good)  # indices into the batch
        order = mine[np.argsort(group[mine], kind="stable")]
        ordered = group[order]
        bounds = np.searchsorted(ordered, np.arange(self._groups + 1))
        ts, value = batch.ts[order], batch.value[order]
        column = self._column_of[batch.tag_id[order]]
        return [(ts[a:b], column[a:b], value[a:b])
                for a, b in itertools.pairwise(bounds.tolist())]
