"""The data model every part of Isthmus speaks: tags, sample batches, quality, assets, events.

Samples travel as columnar numpy batches; per-sample Python objects exist only at the edges.
"""

from __future__ import annotations

import enum
import re
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = [
    "PATH_LEVELS",
    "Asset",
    "DataType",
    "Event",
    "EventKind",
    "Quality",
    "SampleBatch",
    "Severity",
    "Tag",
    "TagPathError",
    "TagRegistry",
    "UnknownTagError",
    "is_bad",
    "is_good",
    "now_ns",
    "validate_tag_path",
]

#: ISA-95 levels of a tag path, in order.
PATH_LEVELS: tuple[str, ...] = ("enterprise", "site", "area", "line", "cell", "asset", "signal")
_SEGMENT = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


def now_ns() -> int:
    """Wall-clock time in nanoseconds since the Unix epoch (UTC)."""
    return time.time_ns()


class TagPathError(ValueError):
    """A tag path is not a valid ISA-95 path."""


class UnknownTagError(KeyError):
    """A tag name or id is not in the namespace."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown tag"


def validate_tag_path(path: str) -> str:
    """Return `path` if it is `enterprise/site/area/line/cell/asset/signal`, else raise."""
    segments = path.split("/")
    if len(segments) != len(PATH_LEVELS):
        raise TagPathError(
            f"tag path {path!r} has {len(segments)} segments; expected {len(PATH_LEVELS)}: "
            + "/".join(PATH_LEVELS)
        )
    for level, segment in zip(PATH_LEVELS, segments, strict=True):
        if not _SEGMENT.match(segment):
            raise TagPathError(
                f"tag path {path!r}: {level} segment {segment!r} must be lowercase "
                "letters, digits, '_' or '-', starting with a letter or digit"
            )
    return path


class Quality(enum.IntEnum):
    """OPC UA StatusCodes (Part 4 / Part 6) used by Isthmus. Top two bits: 00 good,
    01 uncertain, 10 bad."""

    GOOD = 0x00000000
    UNCERTAIN = 0x40000000
    UNCERTAIN_LAST_USABLE_VALUE = 0x40900000
    UNCERTAIN_ENGINEERING_UNITS_EXCEEDED = 0x40940000
    BAD = 0x80000000
    BAD_COMMUNICATION_ERROR = 0x80050000
    BAD_TIMEOUT = 0x800A0000
    BAD_NO_COMMUNICATION = 0x80310000
    BAD_WAITING_FOR_INITIAL_DATA = 0x80320000
    BAD_OUT_OF_RANGE = 0x803C0000
    BAD_CONFIGURATION_ERROR = 0x80890000
    BAD_NOT_CONNECTED = 0x808A0000
    BAD_DEVICE_FAILURE = 0x808B0000
    BAD_SENSOR_FAILURE = 0x808C0000
    BAD_DECODING_ERROR = 0x80070000


def is_good(code: int) -> bool:
    return (code & 0xC0000000) == 0


def is_bad(code: int) -> bool:
    return (code & 0x80000000) != 0


class DataType(enum.StrEnum):
    BOOL = "bool"
    INT16 = "int16"
    UINT16 = "uint16"
    INT32 = "int32"
    UINT32 = "uint32"
    INT64 = "int64"
    UINT64 = "uint64"
    FLOAT32 = "float32"
    FLOAT64 = "float64"


@dataclass(frozen=True, slots=True)
class Tag:
    """One named signal. `path` is the ISA-95 path; `source` binds it to a connector address."""

    path: str
    unit: str = ""
    data_type: DataType = DataType.FLOAT64
    low: float | None = None
    high: float | None = None
    deadband: float = 0.0
    scan_rate_s: float = 1.0
    description: str = ""
    source: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        validate_tag_path(self.path)
        if self.low is not None and self.high is not None and self.low > self.high:
            raise ValueError(f"tag {self.path}: range low {self.low} > high {self.high}")
        if self.deadband < 0:
            raise ValueError(f"tag {self.path}: deadband {self.deadband} is negative")

    @property
    def asset_path(self) -> str:
        return self.path.rsplit("/", 1)[0]

    @property
    def signal(self) -> str:
        return self.path.rsplit("/", 1)[1]


class TagRegistry:
    """Interns tag paths to dense int32 ids for the hot path. Ids are stable once given."""

    def __init__(self, tags: Iterable[tuple[int, Tag]] = ()) -> None:
        self._by_id: dict[int, Tag] = {}
        self._by_path: dict[str, int] = {}
        for tag_id, tag in tags:
            self._add(tag_id, tag)

    def _add(self, tag_id: int, tag: Tag) -> None:
        if tag.path in self._by_path and self._by_path[tag.path] != tag_id:
            raise ValueError(f"tag {tag.path} already interned as {self._by_path[tag.path]}")
        self._by_id[tag_id] = tag
        self._by_path[tag.path] = tag_id

    def intern(self, tag: Tag) -> int:
        """Id of `tag`, giving it the next free id if it is new (its metadata is updated)."""
        tag_id = self._by_path.get(tag.path)
        if tag_id is None:
            tag_id = max(self._by_id, default=0) + 1
        self._add(tag_id, tag)
        return tag_id

    def id_of(self, path: str) -> int:
        try:
            return self._by_path[path]
        except KeyError:
            raise UnknownTagError(f"unknown tag {path!r}") from None

    def tag(self, tag_id: int) -> Tag:
        try:
            return self._by_id[tag_id]
        except KeyError:
            raise UnknownTagError(f"unknown tag id {tag_id}") from None

    def __contains__(self, path: object) -> bool:
        return path in self._by_path

    def __len__(self) -> int:
        return len(self._by_id)

    def __iter__(self) -> Iterator[tuple[int, Tag]]:
        return iter(sorted(self._by_id.items()))

    def paths(self) -> list[str]:
        return sorted(self._by_path)


Int32Array = npt.NDArray[np.int32]
Int64Array = npt.NDArray[np.int64]
Float64Array = npt.NDArray[np.float64]
UInt32Array = npt.NDArray[np.uint32]


@dataclass(frozen=True, slots=True, eq=False)
class SampleBatch:
    """Columnar samples. `ts` is the source timestamp (device or poll time), `ts_gateway`
    the time the gateway accepted the sample; both in ns since the epoch, UTC."""

    tag_id: Int32Array
    ts: Int64Array
    value: Float64Array
    quality: UInt32Array
    ts_gateway: Int64Array

    def __post_init__(self) -> None:
        n = len(self.tag_id)
        for name in ("ts", "value", "quality", "ts_gateway"):
            if len(getattr(self, name)) != n:
                raise ValueError(f"SampleBatch column {name} has {len(getattr(self, name))} "
                                 f"rows; tag_id has {n}")

    @classmethod
    def of(
        cls,
        tag_id: Sequence[int] | npt.ArrayLike,
        ts: Sequence[int] | npt.ArrayLike,
        value: Sequence[float] | npt.ArrayLike,
        quality: Sequence[int] | npt.ArrayLike | None = None,
        ts_gateway: Sequence[int] | npt.ArrayLike | None = None,
    ) -> SampleBatch:
        """Build a batch, converting columns to their dtypes (quality defaults to good,
        the gateway timestamp to the source timestamp)."""
        tag_arr = np.ascontiguousarray(tag_id, dtype=np.int32)
        ts_arr = np.ascontiguousarray(ts, dtype=np.int64)
        n = len(tag_arr)
        q = (np.zeros(n, np.uint32) if quality is None
             else np.ascontiguousarray(quality, dtype=np.uint32))
        gw = ts_arr.copy() if ts_gateway is None else np.ascontiguousarray(ts_gateway, np.int64)
        return cls(tag_arr, ts_arr, np.ascontiguousarray(value, dtype=np.float64), q, gw)

    @classmethod
    def empty(cls) -> SampleBatch:
        return cls.of([], [], [])

    @classmethod
    def concat(cls, batches: Sequence[SampleBatch]) -> SampleBatch:
        if not batches:
            return cls.empty()
        return cls(
            np.concatenate([b.tag_id for b in batches]),
            np.concatenate([b.ts for b in batches]),
            np.concatenate([b.value for b in batches]),
            np.concatenate([b.quality for b in batches]),
            np.concatenate([b.ts_gateway for b in batches]),
        )

    def __len__(self) -> int:
        return len(self.tag_id)

    def take(self, index: npt.NDArray[np.bool_] | npt.NDArray[np.intp] | slice) -> SampleBatch:
        """Rows selected by a boolean mask, an index array or a slice (a new batch)."""
        return SampleBatch(self.tag_id[index], self.ts[index], self.value[index],
                           self.quality[index], self.ts_gateway[index])

    def rows(self) -> Iterator[tuple[int, int, float, int]]:
        """(tag_id, ts, value, quality) tuples: for tests and APIs, never the hot path."""
        for i in range(len(self)):
            yield (int(self.tag_id[i]), int(self.ts[i]), float(self.value[i]),
                   int(self.quality[i]))


class EventKind(enum.StrEnum):
    ALARM = "alarm"
    SECURITY = "security"
    INTEGRITY = "integrity"
    AUDIT = "audit"
    SYSTEM = "system"


class Severity(enum.IntEnum):
    """Syslog-like ordering: higher is worse."""

    DEBUG = 0
    INFO = 1
    LOW = 2
    MEDIUM = 3
    HIGH = 4
    CRITICAL = 5


@dataclass(frozen=True, slots=True)
class Event:
    ts: int
    kind: EventKind
    severity: Severity
    message: str
    source: str = ""
    asset: str | None = None
    tag: str | None = None
    attack_techniques: tuple[str, ...] = ()
    data: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ts": self.ts,
            "kind": self.kind.value,
            "severity": self.severity.name.lower(),
            "message": self.message,
            "source": self.source,
            "asset": self.asset,
            "tag": self.tag,
            "attack.technique": list(self.attack_techniques),
            "data": dict(self.data),
        }


@dataclass(frozen=True, slots=True)
class Asset:
    id: str
    name: str
    kind: str
    vendor: str = ""
    model: str = ""
    firmware: str = ""
    serial: str = ""
    ip: str | None = None
    mac: str | None = None
    zone: str = ""
    uns_path: str = ""
    first_seen: int | None = None
    last_seen: int | None = None
    origin: str = "configured"
    properties: Mapping[str, Any] = field(default_factory=dict)
