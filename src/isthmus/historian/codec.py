"""Block codec: a batch becomes one packed block per tag.

A block holds one tag's samples sorted by source timestamp, column by column: timestamps as
deltas from the block's first (minimum) timestamp, float64 values, uint32 qualities and the
gateway timestamps as offsets from the source timestamps. A header byte of flags collapses the
common cases: evenly spaced timestamps become one step, all-good qualities vanish, a constant
gateway offset becomes one number. Measured: zlib on these small blocks cost ~20 µs per call
(more than everything else together) and cannot shrink random float64 values anyway.
Rows of (tag, min_ts, max_ts, n, payload) are what the backends store.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from isthmus.historian.errors import HistorianCorruption
from isthmus.model import SampleBatch

__all__ = ["Block", "SortedBatch", "decode_blocks", "encode_blocks", "sort_by_tag_and_time"]

_VERSION = 0x10  # high nibble: format version; low nibble: the flags below
_TS_REGULAR = 0x1  # timestamps are min_ts + i * step; the step (int64) is stored
_ALL_GOOD = 0x2  # every quality is 0 (Good); no quality column
_GW_CONST = 0x4  # ts_gateway - ts is one constant (int64) for the block
_I64 = struct.Struct("<q")


@dataclass(frozen=True, slots=True)
class Block:
    tag_id: int
    min_ts: int
    max_ts: int
    n: int
    payload: bytes
    leaf: int | None = None  # the ledger leaf whose samples the block holds, if any


@dataclass(frozen=True, slots=True, eq=False)
class SortedBatch:
    """A batch sorted by (tag_id, ts), with the start index of each tag's run."""

    batch: SampleBatch
    starts: npt.NDArray[np.intp]  # index of the first row of each tag run
    ends: npt.NDArray[np.intp]

    @property
    def tag_ids(self) -> npt.NDArray[np.int32]:
        return self.batch.tag_id[self.starts]


def sort_by_tag_and_time(batch: SampleBatch) -> SortedBatch:
    """Stable sort by (tag_id, ts): samples with equal timestamps keep their arrival order."""
    by_ts = np.argsort(batch.ts, kind="stable")
    order = by_ts[np.argsort(batch.tag_id[by_ts], kind="stable")]
    ordered = batch.take(order)
    n = len(ordered)
    if n == 0:
        empty = np.zeros(0, np.intp)
        return SortedBatch(ordered, empty, empty)
    change = np.flatnonzero(ordered.tag_id[1:] != ordered.tag_id[:-1]) + 1
    starts = np.concatenate(([0], change)).astype(np.intp)
    ends = np.concatenate((change, [n])).astype(np.intp)
    return SortedBatch(ordered, starts, ends)


def encode_blocks(sorted_batch: SortedBatch, *, leaf: int | None = None) -> list[Block]:
    """One block per tag run (each marked with ledger `leaf`, if given). Flags are found
    vectorised over the batch; the loop is per tag, not per sample."""
    b = sorted_batch.batch
    if len(b) == 0:
        return []
    starts, ends = sorted_batch.starts, sorted_batch.ends
    ts_delta = np.empty_like(b.ts)
    ts_delta[1:] = b.ts[1:] - b.ts[:-1]
    step_probe = ts_delta.copy()  # first delta of each block replaced by its second
    step_probe[starts] = ts_delta[np.minimum(starts + 1, ends - 1)]
    step_probe[starts[ends - starts == 1]] = 0
    ts_delta[starts] = 0
    step_lo = np.minimum.reduceat(step_probe, starts)
    regular = step_lo == np.maximum.reduceat(step_probe, starts)
    all_good = np.maximum.reduceat(b.quality, starts) == 0
    gw_offset = b.ts_gateway - b.ts
    gw_lo = np.minimum.reduceat(gw_offset, starts)
    gw_const = gw_lo == np.maximum.reduceat(gw_offset, starts)
    flags = (_VERSION | np.where(regular, _TS_REGULAR, 0) | np.where(all_good, _ALL_GOOD, 0)
             | np.where(gw_const, _GW_CONST, 0)).tolist()
    columns = zip(b.tag_id[starts].tolist(), b.ts[starts].tolist(), b.ts[ends - 1].tolist(),
                  starts.tolist(), ends.tolist(), flags, step_lo.tolist(), gw_lo.tolist(),
                  strict=True)
    blocks: list[Block] = []
    for tag_id, lo, hi, s, e, flag, step, gw in columns:
        parts = [bytes((flag,))]
        parts.append(_I64.pack(step) if flag & _TS_REGULAR else ts_delta[s:e].tobytes())
        parts.append(b.value[s:e].tobytes())
        if not flag & _ALL_GOOD:
            parts.append(b.quality[s:e].tobytes())
        parts.append(_I64.pack(gw) if flag & _GW_CONST else gw_offset[s:e].tobytes())
        blocks.append(Block(tag_id, lo, hi, e - s, b"".join(parts), leaf))
    return blocks


def decode_block(tag_id: int, min_ts: int, n: int, payload: bytes) -> SampleBatch:
    flag = payload[0] if payload else 0
    where = f"block of tag {tag_id} at {min_ts}"
    if flag & 0xF0 != _VERSION:
        raise HistorianCorruption(f"{where}: unknown format byte {flag:#x}")
    expected = (1 + (8 if flag & _TS_REGULAR else 8 * n) + 8 * n
                + (0 if flag & _ALL_GOOD else 4 * n) + (8 if flag & _GW_CONST else 8 * n))
    if len(payload) != expected:
        raise HistorianCorruption(f"{where}: {len(payload)} bytes for {n} samples with flags "
                                  f"{flag:#x}; expected {expected}")
    pos = 1
    if flag & _TS_REGULAR:
        ts = np.int64(min_ts) + np.arange(n, dtype=np.int64) * np.int64(
            _I64.unpack_from(payload, pos)[0])
        pos += 8
    else:
        ts = np.cumsum(np.frombuffer(payload, np.int64, n, pos)) + np.int64(min_ts)
        pos += 8 * n
    value = np.frombuffer(payload, np.float64, n, pos).copy()
    pos += 8 * n
    if flag & _ALL_GOOD:
        quality = np.zeros(n, np.uint32)
    else:
        quality = np.frombuffer(payload, np.uint32, n, pos).copy()
        pos += 4 * n
    if flag & _GW_CONST:
        gateway = ts + np.int64(_I64.unpack_from(payload, pos)[0])
    else:
        gateway = np.frombuffer(payload, np.int64, n, pos) + ts
    return SampleBatch(np.full(n, tag_id, np.int32), ts, value, quality, gateway)


def decode_blocks(rows: list[tuple[int, int, int, bytes]], start_ns: int,
                  end_ns: int) -> SampleBatch:
    """Decode (tag_id, min_ts, n, payload) rows given in write order, keep [start, end), and
    merge them sorted by (tag_id, ts); equal timestamps stay in write order."""
    if not rows:
        return SampleBatch.empty()
    merged = SampleBatch.concat([decode_block(t, m, n, bytes(p)) for t, m, n, p in rows])
    keep = (merged.ts >= start_ns) & (merged.ts < end_ns)
    return sort_by_tag_and_time(merged.take(keep)).batch
