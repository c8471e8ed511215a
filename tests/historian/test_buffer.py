"""The durable buffer: outages, lost acknowledgements, restarts and torn records.

The backend is a real SQLite historian behind a switch that makes it unavailable on demand
(the I/O seam); the PostgreSQL outage test is in test_buffer_outage.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from isthmus.historian import BufferedHistorian, HistorianUnavailable, open_historian
from isthmus.historian.errors import HistorianCorruption
from isthmus.historian.segments import SegmentLog
from isthmus.model import SampleBatch
from tests.historian.conftest import tag

S = 1_000_000_000
T0 = 1_700_000_000 * S
PATH = tag("flow").path


class SwitchableHistorian:
    """A real historian that can be made unreachable, or lose the acknowledgement of a
    commit that did happen."""

    def __init__(self, url: str) -> None:
        self.inner = open_historian(url)
        self.down = False
        self.lose_next_ack = False
        self.applied: list[int] = []

    def write_sequenced(self, batch: SampleBatch, *, stream: str, seq: int) -> bool:
        if self.down:
            raise HistorianUnavailable("switched off")
        written = self.inner.write_sequenced(batch, stream=stream, seq=seq)
        if written:
            self.applied.append(seq)
        if self.lose_next_ack:
            self.lose_next_ack = False
            raise HistorianUnavailable("connection lost before the commit was acknowledged")
        return written

    def high_water(self, stream: str) -> int:
        if self.down:
            raise HistorianUnavailable("switched off")
        return self.inner.high_water(stream)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


@pytest.fixture
def backend(tmp_path: Path) -> SwitchableHistorian:
    switch = SwitchableHistorian(f"sqlite:///{tmp_path}/h.db")
    switch.inner.register_tags([tag("flow")])
    return switch


def batch(i: int) -> SampleBatch:
    """Batch i: ten samples at T0 + (10 i + k) s, value 10 i + k."""
    n = 10 * i + np.arange(10)
    return SampleBatch.of(np.ones(10), T0 + n * S, n.astype(float))


def buffered(backend: SwitchableHistorian, tmp_path: Path) -> BufferedHistorian:
    return BufferedHistorian(backend, tmp_path / "buffer", retry_interval_s=0.0)  # type: ignore[arg-type]


def test_batches_written_during_an_outage_arrive_once_and_in_order(
        backend: SwitchableHistorian, tmp_path: Path):
    h = buffered(backend, tmp_path)
    for i in range(3):
        h.write(batch(i))
    backend.down = True
    for i in range(3, 8):
        h.write(batch(i))
    assert h.stats().backlog_batches == 5
    assert h.stats().buffered_samples == 50
    backend.down = False
    h.write(batch(8))
    stats = h.stats()
    assert (stats.replayed_batches, stats.backlog_batches) == (5, 0)
    np.testing.assert_array_equal(h.raw(PATH, 0, 2 * T0).value, np.arange(90.0))
    assert backend.applied == sorted(backend.applied)
    assert len(backend.applied) == 9
    assert not list((tmp_path / "buffer" / "pending").glob("*.seg"))


def test_a_commit_whose_acknowledgement_was_lost_is_not_written_twice(
        backend: SwitchableHistorian, tmp_path: Path):
    h = buffered(backend, tmp_path)
    backend.lose_next_ack = True
    h.write(batch(0))  # committed, but the buffer believes it failed
    assert h.stats().backlog_batches == 1
    h.write(batch(1))
    assert h.stats().skipped_duplicates == 1
    np.testing.assert_array_equal(h.raw(PATH, 0, 2 * T0).value, np.arange(20.0))


def test_backlog_survives_a_restart_of_the_writer(
        backend: SwitchableHistorian, tmp_path: Path):
    first = buffered(backend, tmp_path)
    backend.down = True
    for i in range(4):
        first.write(batch(i))
    del first  # the process dies with its backlog on disk
    backend.down = False
    second = buffered(backend, tmp_path)
    assert second.stats().backlog_batches == 4
    assert second.replay() == 4
    second.write(batch(4))
    np.testing.assert_array_equal(second.raw(PATH, 0, 2 * T0).value, np.arange(50.0))
    assert backend.applied == sorted(backend.applied)


def test_a_batch_the_backend_rejects_is_quarantined_and_the_rest_replayed(
        backend: SwitchableHistorian, tmp_path: Path):
    h = buffered(backend, tmp_path)
    backend.down = True
    h.write(batch(0))
    h.write(SampleBatch.of([99], [T0], [1.0]))  # tag 99 was never registered
    h.write(batch(1))
    backend.down = False
    h.replay()
    assert h.stats().quarantined_batches == 1
    np.testing.assert_array_equal(h.raw(PATH, 0, 2 * T0).value, np.arange(20.0))


def test_a_record_torn_by_a_crash_is_cut_off_on_open(tmp_path: Path):
    log = SegmentLog(tmp_path)
    log.append(1, batch(0))
    log.append(2, batch(1))
    segment = log.segments[-1].path
    with segment.open("ab") as f:
        f.write(b"\x40\x00\x00\x00partial")
    reopened = SegmentLog(tmp_path)
    assert [seq for seq, _ in reopened.segments[-1].records] == [1, 2]
    reopened.append(3, batch(2))
    values = [b.value[0] for _, b in SegmentLog(tmp_path).records(reopened.segments[-1])]
    assert values == [0.0, 10.0, 20.0]


def test_a_damaged_record_inside_an_older_segment_is_reported(tmp_path: Path):
    log = SegmentLog(tmp_path, segment_bytes=1)  # one record per segment
    log.append(1, batch(0))
    log.append(2, batch(1))
    first = log.segments[0].path
    data = bytearray(first.read_bytes())
    data[20] ^= 0xFF
    first.write_bytes(bytes(data))
    with pytest.raises(HistorianCorruption, match="checksum"):
        SegmentLog(tmp_path)
