"""Decoding many blocks at once, for readers that go through the whole history (`ledger
verify`): blocks in the common shape — evenly spaced times, all-good quality, a constant
gateway offset — are decoded together in a few numpy operations; any other shape goes
through `codec.decode_block` one by one. The result is the same either way."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from isthmus.historian.codec import _ALL_GOOD, _GW_CONST, _TS_REGULAR, _VERSION, decode_block
from isthmus.model import SampleBatch

__all__ = ["decode_in_order"]

_SIMPLE = _VERSION | _TS_REGULAR | _ALL_GOOD | _GW_CONST


def _all_simple(rows: Sequence[tuple[int, int, int, bytes]]) -> bool:
    return all(p[:1] == bytes((_SIMPLE,)) and len(p) == 17 + 8 * n for _, _, n, p in rows)


def decode_in_order(rows: Sequence[tuple[int, int, int, bytes]]) -> SampleBatch:
    """The samples of (tag_id, min_ts, n, payload) rows, block after block, unsorted (a
    corrupt block raises HistorianCorruption, as `decode_block` does)."""
    if not rows:
        return SampleBatch.empty()
    if not _all_simple(rows):
        return SampleBatch.concat([decode_block(t, m, n, p) for t, m, n, p in rows])
    counts = np.array([n for _, _, n, _ in rows], np.int64)
    total = int(counts.sum())
    step = np.frombuffer(b"".join(p[1:9] for *_, p in rows), "<i8")
    offset = np.frombuffer(b"".join(p[-8:] for *_, p in rows), "<i8")
    value = np.frombuffer(b"".join(p[9:-8] for *_, p in rows), "<f8").copy()
    first = np.cumsum(counts) - counts
    k = np.arange(total, dtype=np.int64) - np.repeat(first, counts)
    ts = np.repeat(np.array([m for _, m, _, _ in rows], np.int64), counts)
    ts += k * np.repeat(step, counts)
    tags = np.repeat(np.array([t for t, _, _, _ in rows], np.int32), counts)
    return SampleBatch(tags, ts, value, np.zeros(total, np.uint32),
                       ts + np.repeat(offset, counts))
