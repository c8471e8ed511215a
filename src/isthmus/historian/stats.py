"""Per-bucket statistics (count, sum, min, max, first, last), computed and merged with numpy.

The same type is what rollup tables store per (tag, bucket) and what `aggregate` combines
from rollups and raw samples. Only good-quality, finite values count. Ties on timestamps:
`first` keeps the earliest written sample, `last` the latest written one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields

import numpy as np
import numpy.typing as npt

from isthmus.historian.api import AGGREGATE_FUNCTIONS, Aggregate
from isthmus.historian.errors import HistorianQueryError
from isthmus.model import SampleBatch

__all__ = ["BucketStats", "floor_to"]

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]


def floor_to(ts: I64, size_ns: int) -> I64:
    """Bucket start of each timestamp: the largest multiple of size_ns not above it."""
    return (ts // np.int64(size_ns)) * np.int64(size_ns)


@dataclass(frozen=True, eq=False)
class BucketStats:
    tag_id: I64
    bucket: I64
    count: I64
    sum: F64
    min: F64
    max: F64
    first_ts: I64
    first_value: F64
    last_ts: I64
    last_value: F64

    def __len__(self) -> int:
        return len(self.bucket)

    def columns(self) -> list[npt.NDArray[np.generic]]:
        return [getattr(self, f.name) for f in fields(self)]

    @classmethod
    def empty(cls) -> BucketStats:
        i, f = np.zeros(0, np.int64), np.zeros(0, np.float64)
        return cls(i, i, i, f, f, f, i, f, i, f)

    @classmethod
    def from_columns(cls, cols: Sequence[npt.ArrayLike]) -> BucketStats:
        tag, bucket, count, total, lo, hi, first_ts, first_value, last_ts, last_value = cols
        return cls(_i64(tag), _i64(bucket), _i64(count), _f64(total), _f64(lo), _f64(hi),
                   _i64(first_ts), _f64(first_value), _i64(last_ts), _f64(last_value))

    @classmethod
    def from_sorted_samples(cls, batch: SampleBatch, size_ns: int) -> BucketStats:
        """Stats per (tag, bucket) of a batch already sorted by (tag_id, ts)."""
        good = ((batch.quality & np.uint32(0xC0000000)) == 0) & np.isfinite(batch.value)
        tag = batch.tag_id[good].astype(np.int64)
        ts, value = batch.ts[good], batch.value[good]
        if len(ts) == 0:
            return cls.empty()
        bucket = floor_to(ts, size_ns)
        change = np.flatnonzero((tag[1:] != tag[:-1]) | (bucket[1:] != bucket[:-1])) + 1
        starts = np.concatenate(([0], change))
        ends = np.concatenate((change, [len(ts)])) - 1
        return cls(tag[starts], bucket[starts], np.diff(np.append(starts, len(ts))),
                   np.add.reduceat(value, starts), np.minimum.reduceat(value, starts),
                   np.maximum.reduceat(value, starts), ts[starts], value[starts],
                   ts[ends], value[ends])

    def rebucket(self, size_ns: int) -> BucketStats:
        """Same stats keyed by coarser buckets (size_ns a multiple of the current size)."""
        return BucketStats(self.tag_id, floor_to(self.bucket, size_ns), self.count, self.sum,
                           self.min, self.max, self.first_ts, self.first_value, self.last_ts,
                           self.last_value)

    @classmethod
    def merge(cls, parts: Sequence[BucketStats]) -> BucketStats:
        """Combine stats that may share (tag, bucket) keys; earlier parts count as written
        earlier when timestamps tie."""
        cols = [np.concatenate(c) for c in zip(*(p.columns() for p in parts), strict=True)]
        if not parts or len(cols[0]) == 0:
            return cls.empty()
        s = cls.from_columns(cols)
        by_first = _stable_order(s.tag_id, s.bucket, s.first_ts)
        by_last = _stable_order(s.tag_id, s.bucket, s.last_ts)
        tag, bucket = s.tag_id[by_first], s.bucket[by_first]
        change = np.flatnonzero((tag[1:] != tag[:-1]) | (bucket[1:] != bucket[:-1])) + 1
        starts = np.concatenate(([0], change))
        ends = np.concatenate((change, [len(tag)])) - 1
        return cls(tag[starts], bucket[starts], np.add.reduceat(s.count[by_first], starts),
                   np.add.reduceat(s.sum[by_first], starts),
                   np.minimum.reduceat(s.min[by_first], starts),
                   np.maximum.reduceat(s.max[by_first], starts),
                   s.first_ts[by_first][starts], s.first_value[by_first][starts],
                   s.last_ts[by_last][ends], s.last_value[by_last][ends])

    def to_aggregate(self, fn: str) -> Aggregate:
        """The value of `fn` per bucket; stats must hold a single tag, sorted by bucket."""
        value: F64
        if fn == "avg":
            value = self.sum / self.count
        elif fn == "min":
            value = self.min
        elif fn == "max":
            value = self.max
        elif fn == "count":
            value = self.count.astype(np.float64)
        elif fn == "first":
            value = self.first_value
        elif fn == "last":
            value = self.last_value
        else:
            raise HistorianQueryError(f"aggregate function {fn!r} is not one of "
                                      f"{', '.join(sorted(AGGREGATE_FUNCTIONS))}")
        return Aggregate(self.bucket.copy(), np.ascontiguousarray(value, np.float64),
                         self.count.copy())


def _stable_order(tag: I64, bucket: I64, ts: I64) -> npt.NDArray[np.intp]:
    """Indices sorting by (tag, bucket, ts), ties kept in input order."""
    order = np.argsort(ts, kind="stable")
    order = order[np.argsort(bucket[order], kind="stable")]
    return order[np.argsort(tag[order], kind="stable")]


def _i64(values: npt.ArrayLike) -> I64:
    return np.ascontiguousarray(values, dtype=np.int64)


def _f64(values: npt.ArrayLike) -> F64:
    return np.ascontiguousarray(values, dtype=np.float64)
