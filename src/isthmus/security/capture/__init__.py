"""Capture files in, frames out: pcap and pcapng, streamed, with anomalies instead of
exceptions for truncated or corrupt files."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from isthmus.security.capture.frames import (
    LINKTYPE_ETHERNET,
    LINKTYPE_LINUX_SLL,
    LINKTYPE_LINUX_SLL2,
    LINKTYPE_NULL,
    LINKTYPE_RAW,
    Frame,
)
from isthmus.security.capture.pcap import PcapReader, PcapWriter, is_pcap
from isthmus.security.capture.pcapng import PcapngReader, PcapngWriter, is_pcapng
from isthmus.security.errors import CaptureFormatError

__all__ = [
    "LINKTYPE_ETHERNET",
    "LINKTYPE_LINUX_SLL",
    "LINKTYPE_LINUX_SLL2",
    "LINKTYPE_NULL",
    "LINKTYPE_RAW",
    "CaptureReader",
    "Frame",
    "PcapReader",
    "PcapWriter",
    "PcapngReader",
    "PcapngWriter",
    "open_capture",
]

CaptureReader = PcapReader | PcapngReader


@contextmanager
def open_capture(path: Path) -> Iterator[CaptureReader]:
    """A reader for `path`, chosen by its magic number (pcap or pcapng).

    Raises CaptureFormatError when the file cannot be opened or is neither format.
    """
    try:
        stream = path.open("rb")
    except OSError as exc:
        raise CaptureFormatError(f"{path}: cannot open: {exc.strerror or exc}") from exc
    with stream:
        head = stream.read(4)
        stream.seek(0)
        reader: CaptureReader
        if is_pcap(head):
            reader = PcapReader(stream, source=str(path))
        elif is_pcapng(head):
            reader = PcapngReader(stream, source=str(path))
        else:
            raise CaptureFormatError(
                f"{path}: not a pcap or pcapng capture (starts with {head.hex() or 'nothing'}); "
                "write captures with tcpdump -w or dumpcap")
        yield reader
