"""Where a Merkle log keeps its leaf hashes: in a growing numpy array, or in an append-only
file of 32-byte records (the file is the log's durable form; interior nodes are rebuilt from it).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Protocol

import numpy as np

from isthmus.integrity.errors import TreeError
from isthmus.integrity.hashing import HASH_SIZE, HashArray

__all__ = ["FileLeafStore", "GrowingHashArray", "LeafStore", "MemoryLeafStore"]


class GrowingHashArray:
    """An append-only (n, 32) uint8 array that doubles its capacity as it fills."""

    def __init__(self, initial: HashArray | None = None) -> None:
        n = 0 if initial is None else len(initial)
        self._set_data(np.empty((max(16, 2 * n), HASH_SIZE), dtype=np.uint8))
        if initial is not None:
            self._data[:n] = initial
        self._len = n

    def _set_data(self, data: HashArray) -> None:
        self._data = data
        self._bytes = data.data.cast("B")  # appends one hash without a numpy call

    def __len__(self) -> int:
        return self._len

    def _reserve(self, extra: int) -> None:
        need = self._len + extra
        if need > len(self._data):
            grown = np.empty((max(need, 2 * len(self._data)), HASH_SIZE), dtype=np.uint8)
            grown[: self._len] = self._data[: self._len]
            self._set_data(grown)

    def append(self, value: bytes) -> None:
        """Add one 32-byte hash."""
        if len(value) != HASH_SIZE:
            raise TreeError(f"a hash row is {HASH_SIZE} bytes, not {len(value)}")
        self._reserve(1)
        at = self._len * HASH_SIZE
        self._bytes[at : at + HASH_SIZE] = value
        self._len += 1

    def extend(self, rows: HashArray) -> None:
        self._reserve(len(rows))
        self._data[self._len : self._len + len(rows)] = rows
        self._len += len(rows)

    def get(self, index: int) -> bytes:
        return self._data[index : index + 1].tobytes()

    def rows(self, start: int, stop: int) -> HashArray:
        """A read-only view of rows [start, stop)."""
        view = self._data[start:stop]
        view.flags.writeable = False
        return view


class LeafStore(Protocol):
    """Append-only storage of leaf hashes, read back by index range."""

    def __len__(self) -> int: ...

    def append(self, hashes: HashArray) -> None:
        """Add (n, 32) leaf hashes at the end."""

    def read(self, start: int, stop: int) -> HashArray:
        """Leaf hashes [start, stop) as an (stop - start, 32) array."""

    def flush(self) -> None:
        """Make everything appended so far durable."""


class MemoryLeafStore:
    """Leaf hashes in memory (tests, short-lived logs, or a log rebuilt from elsewhere)."""

    def __init__(self) -> None:
        self._hashes = GrowingHashArray()

    def __len__(self) -> int:
        return len(self._hashes)

    def append(self, hashes: HashArray) -> None:
        self._hashes.extend(hashes)

    def read(self, start: int, stop: int) -> HashArray:
        return self._hashes.rows(start, stop)

    def flush(self) -> None:
        """Nothing to do: memory is as durable as it gets."""


class FileLeafStore:
    """Leaf hashes as consecutive 32-byte records in one append-only file.

    A file whose size is not a multiple of 32 (a write torn by a crash) is refused with the
    offset to truncate at; appends become durable on `flush()` (fsync).
    """

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
        size = os.fstat(self._fd).st_size
        if size % HASH_SIZE:
            os.close(self._fd)
            whole = size - size % HASH_SIZE
            raise TreeError(
                f"{self.path}: {size} bytes is not a whole number of {HASH_SIZE}-byte leaf "
                f"hashes; the last write was torn: truncate the file to {whole} bytes"
            )
        self._len = size // HASH_SIZE

    def __len__(self) -> int:
        return self._len

    def append(self, hashes: HashArray) -> None:
        data = memoryview(np.ascontiguousarray(hashes, dtype=np.uint8).tobytes())
        while data:  # a regular file may take a write in parts (e.g. near a full disk)
            data = data[os.write(self._fd, data) :]
        self._len += len(hashes)

    def read(self, start: int, stop: int) -> HashArray:
        if not 0 <= start <= stop <= self._len:
            raise TreeError(f"{self.path}: leaf range [{start}, {stop}) is outside 0…{self._len}")
        data = os.pread(self._fd, (stop - start) * HASH_SIZE, start * HASH_SIZE)
        return np.frombuffer(data, dtype=np.uint8).reshape(-1, HASH_SIZE)

    def flush(self) -> None:
        os.fsync(self._fd)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> FileLeafStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
