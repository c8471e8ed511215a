"""A TCP session for protocols whose messages are framed one at a time: per-direction
buffers bounded by the largest message, stream offsets, resynchronisation after a gap or a
malformed header, and a cap on the anomalies reported per connection.

A protocol says how long the message at a position is (`frame`) and what it means
(`message`); this class does the bookkeeping. Truncated fields (`struct.error`,
`IndexError`) and `Malformed` become `Anomaly` events with the stream offset."""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any, ClassVar

from isthmus.model import Severity
from isthmus.security.dissectors.base import Output
from isthmus.security.dissectors.message_event import MessageEvent
from isthmus.security.events import Anomaly, FlowKey
from isthmus.security.operations import DANGEROUS, OPERATIONS

__all__ = ["Malformed", "MessageSession", "chained", "parse_guarded"]

_MAX_ANOMALIES = 50          # reported per connection; more are only counted
_SYNC_TAIL = 64              # bytes kept while searching for a message start


class Malformed(Exception):
    """The bytes at `offset` (from the message start) are not the protocol."""

    def __init__(self, reason: str, message: str, offset: int = 0) -> None:
        super().__init__(message)
        self.reason = reason
        self.offset = offset


def chained(session: MessageSession, buf: bytes, pos: int, to_server: bool,
            *, needed: int = 1) -> int | None:
    """How many whole, well-framed messages follow each other from `pos` (None when the
    first header is malformed). Used to recognise a protocol by content."""
    count = 0
    while pos < len(buf):
        try:
            size = session.frame(buf, pos, to_server)
        except (Malformed, struct.error, IndexError, ValueError):
            return None if count == 0 else count
        if size is None or pos + size > len(buf):
            break
        if not 0 < size <= session.max_message:
            return None if count == 0 else count
        count, pos = count + 1, pos + size
        if count >= needed:
            break
    return count


class MessageSession:
    """Parser state for one connection; `to_server` is the client → server direction.
    Per-direction lists are indexed by `to_server` (0: server → client, 1: client → server)."""

    protocol: ClassVar[str] = ""
    event_type: ClassVar[type[MessageEvent]] = MessageEvent
    max_message: ClassVar[int] = 1 << 20

    def __init__(self, to_server: FlowKey, *, midstream: bool) -> None:
        self._keys = (to_server.reversed(), to_server)
        self._buf = [b"", b""]
        self._offset = [0, 0]
        self._syncing = [midstream, midstream]
        self._opaque = [False, False]      # the rest of that direction is not parsed
        self._skip = [0, 0]                # body bytes to pass over before the next header
        self.messages = 0
        self.anomalies = 0

    # ---- what a protocol provides ------------------------------------------------------

    def frame(self, buf: bytes, pos: int, to_server: bool) -> int | None:
        """The length of the message starting at `pos`, None when more bytes are needed;
        raises `Malformed` when the header is not the protocol's."""
        raise NotImplementedError

    def message(self, msg: bytes, to_server: bool, ts_ns: int, offset: int) -> Output:
        """Events for one whole message found at stream `offset`."""
        raise NotImplementedError

    def sync(self, buf: bytes, pos: int, to_server: bool) -> int | None:
        """The first position at or after `pos` where a message plausibly starts (its
        frame chains to the next one or to the end of the buffer), or None."""
        for start in range(pos, len(buf)):
            if self.confirmed(buf, start, to_server):
                return start
        return None

    def confirmed(self, buf: bytes, start: int, to_server: bool) -> bool:
        """Whether a message plausibly starts at `start`: its frame is followed by another
        one or ends exactly at the end of the buffer."""
        count = chained(self, buf, start, to_server, needed=2)
        if not count:
            return False
        return count >= 2 or start + (self.frame(buf, start, to_server) or 0) == len(buf)

    # ---- the session interface ---------------------------------------------------------

    def parse(self, data: bytes, *, to_server: bool, ts_ns: int) -> Output:
        side = 1 if to_server else 0
        if self._opaque[side]:
            self._offset[side] += len(data)
            return []
        buf = self._buf[side] + data if self._buf[side] else data
        out: Output = []
        pos = 0
        while pos < len(buf) and not self._opaque[side]:
            if self._skip[side]:
                step = min(self._skip[side], len(buf) - pos)
                self._skip[side] -= step
                pos += step
                continue
            if self._syncing[side]:
                found = self.sync(buf, pos, to_server)
                if found is None:
                    pos = max(pos, len(buf) - _SYNC_TAIL)
                    break
                pos, self._syncing[side] = found, False
            size = self._frame(out, buf, pos, side, ts_ns)
            if size is None:
                break
            if size < 0:                   # a bad header: resynchronise after its start
                pos += 1
                continue
            if pos + size > len(buf):      # the rest of the message is still to come
                break
            self._message(out, buf[pos:pos + size], side, ts_ns, pos)
            pos += size
        self._offset[side] += pos
        self._buf[side] = buf[pos:] if not self._opaque[side] else b""
        return out

    def gap(self, *, to_server: bool, missing: int, ts_ns: int) -> Output:
        side = 1 if to_server else 0
        self._offset[side] += len(self._buf[side]) + missing
        self._buf[side] = b""
        self._skip[side] = max(0, self._skip[side] - missing)
        self._syncing[side] = not self._opaque[side] and not self._skip[side]
        return []

    # ---- helpers for protocols ---------------------------------------------------------

    def skip(self, to_server: bool, size: int) -> None:
        """Pass over `size` bytes (a body) that follow the current message."""
        self._skip[1 if to_server else 0] += size

    def stop(self, to_server: bool) -> None:
        """Stop parsing a direction (it became encrypted or carries no more messages)."""
        self._opaque[1 if to_server else 0] = True

    def event(self, to_server: bool, ts_ns: int, offset: int, length: int, function: str,
              operation: str, *, direction: str | None = None, **kwargs: Any) -> MessageEvent:
        assert operation in OPERATIONS, operation
        severity = Severity.LOW if operation in DANGEROUS else Severity.INFO
        return self.event_type(ts_ns, self._keys[to_server], self.protocol,
                               direction or ("request" if to_server else "response"),
                               operation, severity, length, function=function,
                               offset=offset, **kwargs)

    def anomaly(self, ts_ns: int, to_server: bool, offset: int, reason: str,
                message: str) -> list[Anomaly]:
        """An anomaly at stream `offset` (reported up to a cap per connection)."""
        self.anomalies += 1
        if self.anomalies > _MAX_ANOMALIES:
            return []
        return [Anomaly(ts_ns, self.protocol, reason, message, offset,
                        self._keys[to_server])]

    # ---- internals ---------------------------------------------------------------------

    def _frame(self, out: Output, buf: bytes, pos: int, side: int, ts_ns: int) -> int | None:
        """The message length at `pos`; None to wait for bytes; -1 after a bad header (the
        direction then resynchronises)."""
        to_server = side == 1
        try:
            size = self.frame(buf, pos, to_server)
            if size is None and len(buf) - pos > self.max_message:
                raise Malformed("oversized", f"no message end within {self.max_message} "
                                "bytes")
            if size is not None and not 0 < size <= self.max_message:
                raise Malformed("bad-length", f"message length {size} is out of range "
                                f"1..{self.max_message}")
        except (Malformed, struct.error, IndexError, ValueError) as exc:
            reason = exc.reason if isinstance(exc, Malformed) else "bad-header"
            where = pos + (exc.offset if isinstance(exc, Malformed) else 0)
            out.extend(self.anomaly(ts_ns, to_server, self._offset[side] + where, reason,
                                    f"{self.protocol}: {exc}; resynchronising"))
            self._syncing[side] = True
            return -1
        return size

    def _message(self, out: Output, msg: bytes, side: int, ts_ns: int, pos: int) -> None:
        to_server = side == 1
        offset = self._offset[side] + pos
        self.messages += 1
        try:
            out.extend(self.message(msg, to_server, ts_ns, offset))
        except Malformed as exc:
            out.extend(self.anomaly(ts_ns, to_server, offset + exc.offset, exc.reason,
                                    f"{self.protocol}: {exc}"))
        except (struct.error, IndexError, ValueError) as exc:
            out.extend(self.anomaly(ts_ns, to_server, offset, "truncated",
                                    f"{self.protocol}: a field runs past the end of the "
                                    f"{len(msg)}-byte message ({exc})"))


def parse_guarded(protocol: str, flow: FlowKey, ts_ns: int,
                  parse: Callable[[], Output]) -> Output:
    """`parse()`'s events, or an `Anomaly` (offset in the datagram) when it finds the
    message malformed or truncated: for datagram dissectors, which have no session."""
    try:
        return parse()
    except Malformed as exc:
        return [Anomaly(ts_ns, protocol, exc.reason, f"{protocol}: {exc}", exc.offset, flow)]
    except (struct.error, IndexError, ValueError) as exc:
        return [Anomaly(ts_ns, protocol, "truncated", f"{protocol}: a field runs past the "
                        f"end of the datagram ({exc})", None, flow)]
