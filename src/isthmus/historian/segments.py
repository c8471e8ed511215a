"""Append-only segment files of checksummed, numbered sample-batch records.

Record: u32 body length, u32 CRC-32 of the body, then the body: u64 sequence number, u32
sample count, and the five columns (tag_id i4, ts i8, value f8, quality u4, ts_gateway i8),
little-endian. Every append is fsync'd before it returns. A torn record at the end of the
last segment (a crash mid-append) is cut off on open; anything else that fails its checksum
raises HistorianCorruption naming the file and offset.
"""

from __future__ import annotations

import os
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from isthmus.historian.errors import HistorianCorruption
from isthmus.model import SampleBatch

__all__ = ["SegmentLog", "decode_record", "encode_record"]

_HEAD = struct.Struct("<II")
_BODY_HEAD = struct.Struct("<QI")
_COLUMNS = (("tag_id", np.int32), ("ts", np.int64), ("value", np.float64),
            ("quality", np.uint32), ("ts_gateway", np.int64))
_SUFFIX = ".seg"


def encode_record(seq: int, batch: SampleBatch) -> bytes:
    body = b"".join([_BODY_HEAD.pack(seq, len(batch)),
                     *(np.ascontiguousarray(getattr(batch, name), dtype).tobytes()
                       for name, dtype in _COLUMNS)])
    return _HEAD.pack(len(body), zlib.crc32(body)) + body


def decode_record(body: bytes) -> tuple[int, SampleBatch]:
    seq, n = _BODY_HEAD.unpack_from(body)
    pos, columns = _BODY_HEAD.size, []
    for _, dtype in _COLUMNS:
        columns.append(np.frombuffer(body, dtype, n, pos).copy())
        pos += n * np.dtype(dtype).itemsize
    tag_id, ts, value, quality, ts_gateway = columns
    return seq, SampleBatch.of(tag_id, ts, value, quality, ts_gateway)


@dataclass
class Segment:
    path: Path
    records: list[tuple[int, int]] = field(default_factory=list)  # (seq, samples)
    size: int = 0


class SegmentLog:
    """The records of one folder, oldest first. Not thread-safe: the buffer holds a lock."""

    def __init__(self, directory: Path, *, segment_bytes: int = 64 << 20) -> None:
        self.directory = directory
        self.segment_bytes = segment_bytes
        directory.mkdir(parents=True, exist_ok=True)
        self.segments: list[Segment] = []
        paths = sorted(directory.glob(f"*{_SUFFIX}"))
        for i, path in enumerate(paths):
            self.segments.append(self._scan(path, last=i == len(paths) - 1))

    def _scan(self, path: Path, *, last: bool) -> Segment:
        segment = Segment(path)
        for offset, body in _read_records(path, tolerate_torn_tail=last):
            seq, n = _BODY_HEAD.unpack_from(body)
            segment.records.append((seq, n))
            segment.size = offset + _HEAD.size + len(body)
        if last and path.stat().st_size > segment.size:
            with path.open("r+b") as f:  # cut off a record torn by a crash
                f.truncate(segment.size)
                os.fsync(f.fileno())
        return segment

    def append(self, seq: int, batch: SampleBatch) -> None:
        record = encode_record(seq, batch)
        if not self.segments or self.segments[-1].size + len(record) > self.segment_bytes:
            self.segments.append(Segment(self.directory / f"{seq:020d}{_SUFFIX}"))
            new_file = True
        else:
            new_file = False
        segment = self.segments[-1]
        with segment.path.open("ab") as f:
            f.write(record)
            f.flush()
            os.fsync(f.fileno())
        if new_file:
            _fsync_dir(self.directory)
        segment.records.append((seq, len(batch)))
        segment.size += len(record)

    def records(self, segment: Segment) -> Iterator[tuple[int, SampleBatch]]:
        for _, body in _read_records(segment.path, tolerate_torn_tail=False):
            yield decode_record(body)

    def drop(self, segment: Segment) -> None:
        segment.path.unlink(missing_ok=True)
        self.segments.remove(segment)
        _fsync_dir(self.directory)

    def last_seq(self) -> int:
        return max((s.records[-1][0] for s in self.segments if s.records), default=0)


def _read_records(path: Path, *, tolerate_torn_tail: bool) -> Iterator[tuple[int, bytes]]:
    data = path.read_bytes()
    offset = 0
    while offset < len(data):
        if offset + _HEAD.size <= len(data):
            length, crc = _HEAD.unpack_from(data, offset)
            body = data[offset + _HEAD.size: offset + _HEAD.size + length]
            if len(body) == length and zlib.crc32(body) == crc:
                yield offset, body
                offset += _HEAD.size + length
                continue
        if tolerate_torn_tail:
            return
        raise HistorianCorruption(f"buffer segment {path}: record at byte {offset} is "
                                  "truncated or fails its checksum")


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
