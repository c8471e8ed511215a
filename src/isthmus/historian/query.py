"""Backend-independent query logic: raw reads, aggregate planning over rollups, retention maths.

A backend supplies two reads (`BlockSource`); this module decides which rollup level answers
which part of a range, and reads raw blocks only for the ragged edges.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np

from isthmus.historian.api import AGGREGATE_FUNCTIONS, Aggregate
from isthmus.historian.codec import Block, decode_blocks, encode_blocks, sort_by_tag_and_time
from isthmus.historian.errors import HistorianQueryError
from isthmus.historian.stats import BucketStats
from isthmus.model import SampleBatch

__all__ = [
    "HOUR_NS",
    "MINUTE_NS",
    "ROLLUP_LEVELS",
    "ROLLUP_PART_SPAN",
    "BlockRow",
    "BlockSource",
    "aggregate",
    "plan_segments",
    "rollups_of",
    "trim_blocks",
]

MINUTE_NS = 60 * 1_000_000_000
HOUR_NS = 60 * MINUTE_NS
#: Rollup bucket sizes kept current on ingest, coarsest first.
ROLLUP_LEVELS: tuple[int, ...] = (HOUR_NS, MINUTE_NS)

#: Rollup rows are clustered by (part, tag, bucket) with part = bucket // span: a batch then
#: touches the few index pages of the current hour (day) instead of one page per tag.
#: Measured on SQLite at 10 s sampling: loading 10 M samples fell from 39 s to 17 s.
ROLLUP_PART_SPAN: dict[int, int] = {MINUTE_NS: HOUR_NS, HOUR_NS: 24 * HOUR_NS}

#: (tag_id, min_ts, n, payload) of one stored block, in write order.
BlockRow = tuple[int, int, int, bytes]


class BlockSource(Protocol):
    def select_blocks(self, tag_ids: Sequence[int] | None, start_ns: int,
                      end_ns: int) -> list[BlockRow]:
        """Blocks of `tag_ids` (all tags if None) that overlap [start, end), in write order."""
        ...

    def select_rollups(self, level_ns: int, tag_id: int, start_ns: int,
                       end_ns: int) -> BucketStats:
        """Rollup rows of one tag with start <= bucket < end, ordered by bucket."""
        ...


def rollups_of(sorted_batch: SampleBatch) -> dict[int, BucketStats]:
    """Rollup rows of a batch sorted by (tag_id, ts), per level."""
    return {level: BucketStats.from_sorted_samples(sorted_batch, level)
            for level in ROLLUP_LEVELS}


def plan_segments(start_ns: int, end_ns: int,
                  every_ns: int) -> list[tuple[int | None, int, int]]:
    """Split [start, end) into (level, start, end) pieces: level is a rollup size that
    divides `every_ns`, or None where raw samples must be read (the unaligned edges)."""
    levels = [lv for lv in ROLLUP_LEVELS if every_ns % lv == 0]
    return _cover(start_ns, end_ns, levels)


def _cover(start: int, end: int, levels: list[int]) -> list[tuple[int | None, int, int]]:
    if start >= end:
        return []
    if not levels:
        return [(None, start, end)]
    level, rest = levels[0], levels[1:]
    a = -(-start // level) * level
    b = (end // level) * level
    if a >= b:
        return _cover(start, end, rest)
    return [*_cover(start, a, rest), (level, a, b), *_cover(b, end, rest)]


def aggregate(source: BlockSource, tag_id: int, start_ns: int, end_ns: int, every_ns: int,
              fn: str) -> Aggregate:
    if fn not in AGGREGATE_FUNCTIONS:
        raise HistorianQueryError(f"aggregate function {fn!r} is not one of "
                                  f"{', '.join(sorted(AGGREGATE_FUNCTIONS))}")
    if every_ns <= 0:
        raise HistorianQueryError(f"aggregate bucket size every_ns={every_ns} must be > 0")
    parts: list[BucketStats] = []
    for level, s, e in plan_segments(start_ns, end_ns, every_ns):
        if level is None:
            raw = decode_blocks(source.select_blocks([tag_id], s, e), s, e)
            parts.append(BucketStats.from_sorted_samples(raw, every_ns))
        else:
            parts.append(source.select_rollups(level, tag_id, s, e).rebucket(every_ns))
    return BucketStats.merge(parts).to_aggregate(fn)


def trim_blocks(rows: Sequence[BlockRow], cutoff_ns: int) -> tuple[int, list[Block]]:
    """For blocks that straddle the cutoff: (samples older than it, re-encoded remainder)."""
    if not rows:
        return 0, []
    everything = decode_blocks(list(rows), np.iinfo(np.int64).min, np.iinfo(np.int64).max)
    keep = everything.ts >= cutoff_ns
    return int((~keep).sum()), encode_blocks(sort_by_tag_and_time(everything.take(keep)))


def straddling_rollups(source: BlockSource, cutoff_ns: int) -> dict[int, BucketStats]:
    """Per level, rollups recomputed from raw for the bucket that contains the cutoff (call
    after the raw samples older than the cutoff are gone)."""
    result: dict[int, BucketStats] = {}
    for level in ROLLUP_LEVELS:
        bucket = (cutoff_ns // level) * level
        if bucket == cutoff_ns:
            result[level] = BucketStats.empty()
            continue
        raw = decode_blocks(source.select_blocks(None, cutoff_ns, bucket + level),
                            cutoff_ns, bucket + level)
        result[level] = BucketStats.from_sorted_samples(raw, level)
    return result
