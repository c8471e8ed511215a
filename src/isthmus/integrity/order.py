"""Ledger order: samples sorted by (tag id, source time), stably. The gateway signs batches in
that order and the historian stores them in it, so that stored blocks reproduce the signed
bytes; the receiver checks it before a batch becomes a leaf."""

from __future__ import annotations

import numpy as np

from isthmus.model import SampleBatch

__all__ = ["in_ledger_order", "is_in_ledger_order", "sort_into_ledger_order"]


def in_ledger_order(batch: SampleBatch) -> SampleBatch:
    """The batch stably sorted by (tag id, source time). A batch already in that order is
    returned as it is (a batch of one poll, its tags in id order, usually is)."""
    return batch if is_in_ledger_order(batch) else sort_into_ledger_order(batch)


def sort_into_ledger_order(batch: SampleBatch) -> SampleBatch:
    """The batch stably sorted by (tag id, source time), always as a new batch."""
    order = np.lexsort((batch.ts, batch.tag_id))
    return SampleBatch(batch.tag_id.take(order), batch.ts.take(order),
                       batch.value.take(order), batch.quality.take(order),
                       batch.ts_gateway.take(order))


def is_in_ledger_order(batch: SampleBatch) -> bool:
    """True if the batch is sorted by (tag id, source time). A batch whose tags go down
    somewhere (as in a batch of several polls, time by time) is told in one pass."""
    tag, ts = batch.tag_id, batch.ts
    if len(tag) < 2:
        return True
    before, after = tag[:-1], tag[1:]
    if not (after >= before).all():
        return False
    return bool(((ts[1:] >= ts[:-1]) | (after != before)).all())
