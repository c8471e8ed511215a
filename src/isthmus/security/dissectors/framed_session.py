"""The stream bookkeeping shared by the binary ICS sessions (DNP3, S7, EtherNet/IP,
IEC 104): per-direction buffers and stream offsets, resynchronisation after a gap or a bad
header, a cap on the anomalies reported per connection, a bounded table of requests
awaiting their answers, and a bounded cache of requests parsed once (polls repeat them).

A protocol finds a frame start (`_sync`), reads the length of the frame a header starts
(`_length`), reports a bad header (`_bad_header`) and handles one whole frame (`_frame`);
it keeps its own fast path in front of `_scan` for the common chunk that is one frame."""

from __future__ import annotations

from typing import ClassVar, TypeVar

from mypy_extensions import mypyc_attr

from isthmus.security.dissectors.base import Output
from isthmus.security.events import Anomaly, FlowKey

__all__ = ["MAX_PENDING", "FramedSession", "ParseCache", "remember"]

MAX_PENDING = 256           # requests awaiting an answer, per connection
_MAX_ANOMALIES = 50         # reported per connection; more are only counted

K = TypeVar("K")
V = TypeVar("V")


def remember(pending: dict[K, V], key: K, value: V, limit: int = MAX_PENDING) -> None:
    """Store `value` under `key`, dropping the oldest entry first when `pending` is full."""
    if len(pending) >= limit:
        del pending[next(iter(pending))]
    pending[key] = value


class ParseCache(dict[K, V]):
    """Parsed messages by their bytes (or a key made of them), emptied when `limit` is
    reached. What it holds is shared by every event made from it: never change it."""

    def __init__(self, limit: int = 4096) -> None:
        super().__init__()
        self.limit = limit

    def keep(self, key: K, value: V) -> V:
        """Store `value` under `key` (after emptying the cache when it is full); `value`."""
        if len(self) >= self.limit:
            self.clear()
        self[key] = value
        return value


@mypyc_attr(allow_interpreted_subclasses=True)   # IEC 104 is interpreted
class FramedSession:
    """Parser state for one connection; `to_server` is the client → server direction.
    Per-direction lists are indexed by side (0: server → client, 1: client → server)."""

    # class-level, so that interpreted subclasses override them when the base is compiled
    protocol: ClassVar[str] = ""
    header_size: ClassVar[int] = 1     # bytes needed before `_length` can decide

    def __init__(self, to_server: FlowKey, *, midstream: bool) -> None:
        self._keys = [to_server.reversed(), to_server]
        self._buf = [b"", b""]
        self._offset = [0, 0]
        self._syncing = [midstream, midstream]
        self.anomalies = 0

    # ---- what a protocol provides ------------------------------------------------------

    def _sync(self, buf: bytes, pos: int, /) -> tuple[int | None, int]:
        """(position of a confirmed frame start at or after `pos` or None, position to
        keep bytes from)."""
        raise NotImplementedError

    def _length(self, buf: bytes, pos: int, /) -> int | None:
        """The length of the frame whose header (at least `header_size` bytes) is at
        `pos`, None when that header is not the protocol's."""
        raise NotImplementedError

    def _bad_header(self, out: Output, buf: bytes, pos: int, side: int, ts_ns: int) -> None:
        """Report the bad header at `pos`; the direction then resynchronises."""
        raise NotImplementedError

    def _frame(self, out: Output, buf: bytes, pos: int, size: int, side: int,
               ts_ns: int) -> None:
        """Events for the whole frame `buf[pos:pos + size]`."""
        raise NotImplementedError

    def _forget(self, side: int) -> None:
        """Drop what a direction was reassembling (after a gap)."""

    # ---- the session interface ---------------------------------------------------------

    def parse(self, data: bytes, *, to_server: bool, ts_ns: int) -> Output:
        return self._scan(data, 1 if to_server else 0, ts_ns)

    def gap(self, *, to_server: bool, missing: int, ts_ns: int) -> Output:
        side = 1 if to_server else 0
        self._offset[side] += len(self._buf[side]) + missing
        self._buf[side] = b""
        self._syncing[side] = True
        self._forget(side)
        return []

    # ---- helpers for protocols ---------------------------------------------------------

    def _scan(self, data: bytes, side: int, ts_ns: int) -> Output:
        """Events for the whole frames in the buffered bytes and `data`; keeps the rest."""
        out: Output = []
        buf = self._buf[side] + data if self._buf[side] else data
        pos, end, least = 0, len(buf), self.header_size
        syncing = self._syncing
        length, frame = self._length, self._frame
        while True:
            if syncing[side]:
                found, pos = self._sync(buf, pos)
                if found is None:
                    break
                syncing[side] = False
            if end - pos < least:
                break
            size = length(buf, pos)
            if size is None:
                self._bad_header(out, buf, pos, side, ts_ns)
                syncing[side] = True
                pos += 1
                continue
            if pos + size > end:
                break
            frame(out, buf, pos, size, side, ts_ns)
            pos += size
        self._offset[side] += pos
        self._buf[side] = buf[pos:]
        return out

    def _anomaly(self, out: Output, ts_ns: int, side: int, pos: int, reason: str,
                 message: str) -> None:
        """An anomaly at `pos` in the current chunk (reported up to a cap per connection)."""
        self.anomalies += 1
        if self.anomalies <= _MAX_ANOMALIES:
            out.append(Anomaly(ts_ns, self.protocol, reason, message,
                               self._offset[side] + pos, self._keys[side]))
