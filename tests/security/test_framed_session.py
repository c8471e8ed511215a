"""The stream bookkeeping the DNP3, S7, EtherNet/IP and IEC 104 sessions share, on a toy
protocol (0xA5, a length byte counting the whole frame, payload): however the stream is cut
into chunks the same frames come out at the same offsets; bad headers resynchronise, are
reported at their stream offset and capped; gaps drop what was buffered."""

from __future__ import annotations

from itertools import pairwise

from hypothesis import given
from hypothesis import strategies as st

from isthmus.security.dissectors.base import Output
from isthmus.security.dissectors.framed_session import (
    FramedSession,
    ParseCache,
    remember,
)
from isthmus.security.events import Anomaly
from tests.security.sessions import KEY


class Toy(FramedSession):
    protocol = "toy"
    header_size = 2

    def __init__(self, *, midstream: bool = False) -> None:
        super().__init__(KEY, midstream=midstream)
        self.seen: list[tuple[int, bytes]] = []       # (stream offset, frame)
        self.forgotten: list[int] = []

    def _sync(self, buf: bytes, pos: int, /) -> tuple[int | None, int]:
        found = buf.find(b"\xa5", pos)
        return (None, len(buf)) if found == -1 else (found, found)

    def _length(self, buf: bytes, pos: int, /) -> int | None:
        return buf[pos + 1] if buf[pos] == 0xA5 and buf[pos + 1] >= 2 else None

    def _bad_header(self, out: Output, buf: bytes, pos: int, side: int, ts_ns: int) -> None:
        self._anomaly(out, ts_ns, side, pos, "bad-header", "toy: not 0xA5 and a length")

    def _frame(self, out: Output, buf: bytes, pos: int, size: int, side: int,
               ts_ns: int) -> None:
        self.seen.append((self._offset[side] + pos, buf[pos:pos + size]))

    def _forget(self, side: int) -> None:
        self.forgotten.append(side)


def frame(payload: bytes) -> bytes:
    return b"\xa5" + bytes([len(payload) + 2]) + payload


def stream_of(payloads: list[bytes]) -> bytes:
    return b"".join(frame(p) for p in payloads)


def feed(session: Toy, data: bytes, cuts: list[int]) -> list[Anomaly]:
    out: Output = []
    bounds = [0, *sorted(c % (len(data) + 1) for c in cuts), len(data)]
    for a, b in pairwise(bounds):
        out += session.parse(data[a:b], to_server=True, ts_ns=0)
    return [e for e in out if isinstance(e, Anomaly)]


@given(st.lists(st.binary(max_size=20), max_size=12), st.lists(st.integers(0, 400)))
def test_any_chunking_gives_the_same_frames_at_the_same_offsets(
        payloads: list[bytes], cuts: list[int]) -> None:
    data = stream_of(payloads)
    session = Toy()
    assert feed(session, data, cuts) == []
    offsets = [0]
    for p in payloads:
        offsets.append(offsets[-1] + len(p) + 2)
    assert session.seen == [(o, frame(p)) for o, p in zip(offsets, payloads, strict=False)]


def test_a_bad_header_is_reported_at_its_offset_and_the_stream_resynchronises() -> None:
    session = Toy()
    data = frame(b"ab") + b"\x00\x01" + frame(b"cd")
    (anomaly,) = feed(session, data, [])
    assert (anomaly.reason, anomaly.offset, anomaly.layer) == ("bad-header", 4, "toy")
    assert session.seen == [(0, frame(b"ab")), (6, frame(b"cd"))]


def test_anomalies_are_capped_per_connection_but_all_counted() -> None:
    session = Toy()
    reported = []
    for _ in range(60):
        reported += feed(session, b"\x00" + frame(b""), [])
    assert len(reported) == 50 and session.anomalies == 60
    assert len(session.seen) == 60


def test_a_gap_drops_the_buffer_and_resynchronises_past_it() -> None:
    session = Toy()
    session.parse(frame(b"abc")[:3], to_server=True, ts_ns=0)      # 3 bytes buffered
    assert session.gap(to_server=True, missing=4, ts_ns=1) == []
    assert session.forgotten == [1]
    out = session.parse(b"zz" + frame(b"x"), to_server=True, ts_ns=2)
    assert out == [] and session.seen == [(3 + 4 + 2, frame(b"x"))]


def test_midstream_sessions_start_by_searching_for_a_frame() -> None:
    session = Toy(midstream=True)
    assert feed(session, b"\x01\x02" + frame(b"q"), []) == []
    assert session.seen == [(2, frame(b"q"))]


def test_remember_drops_the_oldest_when_full() -> None:
    pending: dict[int, str] = {}
    for i in range(5):
        remember(pending, i, str(i), limit=3)
    assert list(pending.items()) == [(2, "2"), (3, "3"), (4, "4")]


def test_the_parse_cache_empties_when_full() -> None:
    cache: ParseCache[bytes, int] = ParseCache(limit=2)
    assert cache.keep(b"a", 1) == 1
    cache.keep(b"b", 2)
    cache.keep(b"c", 3)
    assert dict(cache) == {b"c": 3}
