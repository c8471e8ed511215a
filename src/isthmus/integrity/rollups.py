"""`ledger verify`'s rollup check: the stored 1-minute and 1-hour rollups of each tag,
recomputed from the raw samples the historian holds (which the ledger pass checks against
their signatures). Rollups are derived from the signed samples in the same write
transaction and expire with the same signed retention cutoff, so on an untouched historian
both agree; an edited, inserted or deleted rollup row does not.

Counts, minima, maxima, first and last values compare exactly; sums within 1e-9 relative
(the historian adds each write's partial sums in SQL, in another order).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from isthmus.historian.bulkdecode import decode_in_order
from isthmus.historian.codec import sort_by_tag_and_time
from isthmus.historian.errors import HistorianError
from isthmus.historian.query import ROLLUP_LEVELS, ROLLUP_PART_SPAN, BlockSource
from isthmus.historian.stats import BucketStats

__all__ = ["RollupMismatch", "rollup_mismatches"]

_LOW, _HIGH = -(2**63), 2**63 - 1
_EXACT = ("count", "min", "max", "first_ts", "first_value", "last_ts", "last_value")


@dataclass(frozen=True, slots=True)
class RollupMismatch:
    tag_id: int
    level_ns: int
    bucket: int
    detail: str


def rollup_mismatches(source: BlockSource, tag_ids: Iterable[int]) -> Iterator[RollupMismatch]:
    """Every rollup bucket of `tag_ids` whose stored row differs from the one the raw samples
    give, or exists on one side only — over the whole hours (1-minute rollups) and days
    (1-hour rollups) that hold raw samples of the tag; rows beyond them are not read."""
    for tag_id in tag_ids:
        try:
            stored = decode_in_order(source.select_blocks([tag_id], _LOW, _HIGH))
        except HistorianError:               # an undecodable block: the ledger pass names it
            continue
        if len(stored) == 0:
            continue
        raw = sort_by_tag_and_time(stored).batch
        first, last = int(raw.ts.min()), int(raw.ts.max())
        for level in ROLLUP_LEVELS:
            span = ROLLUP_PART_SPAN[level]     # the rows stored together: whole hours/days
            start, end = first // span * span, last // span * span + span
            want = BucketStats.from_sorted_samples(raw, level)
            have = source.select_rollups(level, tag_id, start, end)
            yield from _compare(tag_id, level, want, have)


def _compare(tag_id: int, level: int, want: BucketStats,
             have: BucketStats) -> Iterator[RollupMismatch]:
    """Both sides are one tag's rows in ascending bucket order; compared column by column."""
    for bucket in np.setdiff1d(want.bucket, have.bucket, assume_unique=True).tolist():
        yield RollupMismatch(tag_id, level, int(bucket), "the rollup row of samples the "
                             "historian holds is missing")
    for bucket in np.setdiff1d(have.bucket, want.bucket, assume_unique=True).tolist():
        yield RollupMismatch(tag_id, level, int(bucket), "a rollup row with no raw samples "
                             "behind it")
    _, wi, hi = np.intersect1d(want.bucket, have.bucket, assume_unique=True,
                               return_indices=True)
    differs = ~np.isclose(have.sum[hi], want.sum[wi], rtol=1e-9, atol=1e-12)
    for name in _EXACT:
        differs |= getattr(have, name)[hi] != getattr(want, name)[wi]
    for k in np.flatnonzero(differs).tolist():
        yield RollupMismatch(tag_id, level, int(want.bucket[wi[k]]),
                             _differences(want, int(wi[k]), have, int(hi[k])))


def _differences(want: BucketStats, i: int, have: BucketStats, j: int) -> str:
    changed = [f"{name} {getattr(have, name)[j].item()!r} (raw: {getattr(want, name)[i].item()!r})"
               for name in _EXACT if getattr(have, name)[j] != getattr(want, name)[i]]
    if not np.isclose(have.sum[j], want.sum[i], rtol=1e-9, atol=1e-12):
        changed.append(f"sum {have.sum[j].item()!r} (raw: {want.sum[i].item()!r})")
    return "stored " + ", ".join(changed) if changed else ""
