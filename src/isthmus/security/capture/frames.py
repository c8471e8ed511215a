"""A captured frame and the link types the decoder understands."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["LINKTYPE_ETHERNET", "LINKTYPE_LINUX_SLL", "LINKTYPE_LINUX_SLL2", "LINKTYPE_NULL",
           "LINKTYPE_RAW", "Frame", "Record"]

LINKTYPE_NULL = 0          # BSD loopback: 4-byte address family in host byte order
LINKTYPE_ETHERNET = 1
LINKTYPE_RAW = 101         # raw IPv4 or IPv6, version from the first nibble
LINKTYPE_LINUX_SLL = 113   # Linux "cooked" capture v1
LINKTYPE_LINUX_SLL2 = 276  # Linux "cooked" capture v2


@dataclass(slots=True)
class Frame:
    """One captured frame: capture time in ns since the epoch, link type, the captured
    bytes (possibly fewer than were on the wire: `orig_len`), and its record's offset in
    the file (for anomalies)."""

    ts_ns: int
    linktype: int
    data: bytes
    orig_len: int
    file_offset: int = 0


Record = tuple[int, bytes, int, int]
"""A frame without its object: (ts_ns, data, orig_len, file_offset); `records()` of a
reader yields these, all of the reader's `linktype`."""
