"""Capture files: pcap in both byte orders and resolutions, pcapng with several interfaces,
truncated and foreign files."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from isthmus.security.capture import (
    LINKTYPE_ETHERNET,
    LINKTYPE_RAW,
    PcapngReader,
    PcapngWriter,
    PcapReader,
    PcapWriter,
    open_capture,
)
from isthmus.security.errors import CaptureFormatError
from isthmus.security.events import Anomaly
from tests.security.traffic import T0, conversation, monitor, read_request, write_pcap


@pytest.mark.parametrize("big_endian", [False, True])
@pytest.mark.parametrize("nanosecond", [False, True])
def test_pcap_round_trips_in_both_byte_orders_and_resolutions(big_endian: bool,
                                                              nanosecond: bool) -> None:
    stream = io.BytesIO()
    writer = PcapWriter(stream, nanosecond=nanosecond, big_endian=big_endian)
    writer.write(T0 + 123_456_789, b"\x01" * 60)
    writer.write(T0 + 2_000_000_001, b"\x02" * 70)
    stream.seek(0)
    frames = list(PcapReader(stream))
    scale = 1 if nanosecond else 1_000
    assert [f.ts_ns for f in frames] == [T0 + 123_456_789 // scale * scale,
                                         T0 + 2_000_000_001 // scale * scale]
    assert [f.data for f in frames] == [b"\x01" * 60, b"\x02" * 70]
    assert all(f.linktype == LINKTYPE_ETHERNET for f in frames)


def test_pcap_reader_streams_records_larger_than_its_chunk_boundary() -> None:
    stream = io.BytesIO()
    writer = PcapWriter(stream)
    payloads = [bytes([i % 256]) * (1000 + i) for i in range(1500)]    # ≈ 2.6 MB
    for i, p in enumerate(payloads):
        writer.write(T0 + i, p)
    stream.seek(0)
    assert [f.data for f in PcapReader(stream)] == payloads


def test_pcapng_reads_interfaces_with_their_own_link_type_and_resolution() -> None:
    stream = io.BytesIO()
    writer = PcapngWriter(stream)
    eth = writer.add_interface(LINKTYPE_ETHERNET)
    raw = writer.add_interface(LINKTYPE_RAW, nanosecond=True)
    writer.write(eth, T0 + 1_234_567_000, b"E" * 61)
    writer.write_unknown(0x0BAD, b"comment block the reader does not know")
    writer.write(raw, T0 + 1_234_567_891, b"R" * 30)
    writer.write_simple(b"S" * 62)
    stream.seek(0)
    reader = PcapngReader(stream)
    frames = list(reader)
    assert [(f.linktype, f.ts_ns, f.data) for f in frames] == [
        (LINKTYPE_ETHERNET, T0 + 1_234_567_000, b"E" * 61),
        (LINKTYPE_RAW, T0 + 1_234_567_891, b"R" * 30),
        (LINKTYPE_ETHERNET, T0 + 1_234_567_891, b"S" * 62),   # SPB: no timestamp of its own
    ]
    assert reader.skipped_blocks == 1
    assert reader.anomalies == []


def test_modbus_in_pcapng_is_dissected_like_in_pcap(tmp_path: Path) -> None:
    conv = conversation()
    frames = [*conv.handshake(), conv.send(True, read_request(1)), *conv.close()]
    path = tmp_path / "modbus.pcapng"
    with path.open("wb") as stream:
        writer = PcapngWriter(stream)
        iface = writer.add_interface(LINKTYPE_ETHERNET)
        for i, frame in enumerate(frames):
            writer.write(iface, T0 + i * 1000, frame)
    _, summary = monitor(path)
    assert summary.functions == {"modbus/read_holding_registers/request": 1}


def test_truncated_pcap_is_one_anomaly_and_a_clean_stop(tmp_path: Path) -> None:
    conv = conversation()
    frames = [*conv.handshake(), conv.send(True, read_request(1)),
              conv.send(True, read_request(2))]
    path = write_pcap(tmp_path / "cut.pcap", frames)
    path.write_bytes(path.read_bytes()[:-10])
    events, summary = monitor(path)
    assert summary.anomalies_by_reason == {"capture/truncated": 1}
    assert summary.functions == {"modbus/read_holding_registers/request": 1}
    (anomaly,) = [e for e in events if isinstance(e, Anomaly) and e.layer == "capture"]
    assert anomaly.offset == path.stat().st_size - (16 + len(frames[-1]) - 10)


def test_truncated_pcapng_is_one_anomaly(tmp_path: Path) -> None:
    path = tmp_path / "cut.pcapng"
    with path.open("wb") as stream:
        writer = PcapngWriter(stream)
        writer.add_interface()
        writer.write(0, T0, b"x" * 64)
        writer.write(0, T0 + 1, b"y" * 64)
    path.write_bytes(path.read_bytes()[:-7])
    with open_capture(path) as reader:
        assert [f.data for f in reader] == [b"x" * 64]
        assert [a.reason for a in reader.anomalies] == ["truncated"]


def test_a_file_that_is_no_capture_is_refused_by_name(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("hello, not a capture")
    with pytest.raises(CaptureFormatError, match=r"notes\.txt: not a pcap or pcapng"), \
            open_capture(path):
        pass
    _, summary = monitor(path)                   # the monitor reports it and goes on
    assert summary.anomalies_by_reason == {"capture/unreadable": 1}
