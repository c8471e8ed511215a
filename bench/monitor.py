"""Passive monitor throughput: packets/s of the whole pipeline (capture → decode →
reassembly → Modbus dissection → inventory/flows, events kept in memory, and with ECS JSON
lines written) on a generated Modbus/TCP capture, against a plain `struct.unpack_from`
walk over the same pcap records as the baseline. If tshark is installed, its Modbus
function codes are compared with ours.

    .venv/bin/python bench/monitor.py [--packets 200000]
"""

from __future__ import annotations

import argparse
import collections
import io
import json
import shutil
import struct
import subprocess
import tempfile
import time
from pathlib import Path

from isthmus.security import Monitor, MonitorEvent, to_ecs
from isthmus.security.capture import PcapWriter
from isthmus.security.craft import Endpoint, TcpConversation

T0 = 1_764_000_000_000_000_000


def _adu(tid: int, unit: int, pdu: bytes) -> bytes:
    return struct.pack(">HHHB", tid, 0, len(pdu) + 1, unit) + pdu


def generate(path: Path, packets: int) -> None:
    """Ten HMIs polling one PLC each: FC 3/4 reads of 10 registers, a write every 20th."""
    convs = [TcpConversation(Endpoint(f"10.1.0.{100 + i}", 40000 + i, f"02:00:00:00:01:{i:02x}"),
                             Endpoint(f"10.1.1.{1 + i}", 502, f"02:00:00:00:02:{i:02x}"))
             for i in range(10)]
    with path.open("wb") as stream:
        writer = PcapWriter(stream)
        n = 0
        for conv in convs:
            for frame in conv.handshake():
                writer.write(T0 + n * 1000, frame)
                n += 1
        tid = 0
        while n < packets:
            conv = convs[tid % 10]
            tid += 1
            if tid % 20 == 0:
                request = b"\x10\x00\x00\x00\x02\x04\x00\x01\x00\x02"
                response = b"\x10\x00\x00\x00\x02"
            else:
                fc = 3 if tid % 2 else 4
                request = struct.pack(">BHH", fc, 0, 10)
                response = bytes([fc, 20]) + bytes(20)
            writer.write(T0 + n * 1000, conv.send(True, _adu(tid & 0xFFFF, 1, request)))
            writer.write(T0 + n * 1000 + 500, conv.send(False, _adu(tid & 0xFFFF, 1, response)))
            n += 2


def baseline(path: Path) -> int:
    """Walk the pcap records with struct.unpack_from (no decoding at all)."""
    data = path.read_bytes()
    record = struct.Struct("<IIII")
    pos, count = 24, 0
    while pos + 16 <= len(data):
        _sec, _usec, caplen, _orig = record.unpack_from(data, pos)
        pos += 16 + caplen
        count += 1
    return count


def pipeline(path: Path, *, json_lines: bool) -> tuple[int, list[MonitorEvent]]:
    events: list[MonitorEvent] = []
    sink = io.StringIO()

    def write(event: MonitorEvent) -> None:
        sink.write(json.dumps(to_ecs(event), separators=(",", ":")) + "\n")

    monitor = Monitor(sink=write if json_lines else events.append)
    monitor.read(path)
    summary = monitor.finish()
    return summary.frames, events


def timed(func, *args, **kwargs):  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    result = func(*args, **kwargs)
    return result, time.perf_counter() - start


def tshark_agreement(path: Path, events: list[MonitorEvent]) -> str:
    tshark = shutil.which("tshark")
    if tshark is None:
        return "tshark not installed: function-code comparison skipped"
    out = subprocess.run([tshark, "-r", str(path), "-T", "fields", "-e", "modbus.func_code",
                          "-o", "tcp.analyze_sequence_numbers:FALSE"], capture_output=True,
                         text=True, check=True).stdout
    theirs = collections.Counter(int(c) for line in out.split() for c in line.split(","))
    ours = collections.Counter(int(getattr(e, "function_code", -1)) for e in events
                               if hasattr(e, "function_code"))
    verdict = "agree" if theirs == ours else "DISAGREE"
    return f"tshark function codes {dict(theirs)} vs ours {dict(ours)}: {verdict}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--packets", type=int, default=200_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "modbus.pcap"
        generate(path, args.packets)
        base_n, base_s = timed(baseline, path)
        (pipe_n, events), pipe_s = timed(pipeline, path, json_lines=False)
        (json_n, _), json_s = timed(pipeline, path, json_lines=True)
        rows = [("struct.unpack_from walk (baseline)", base_n, base_s),
                ("monitor pipeline, events in memory", pipe_n, pipe_s),
                ("monitor pipeline + ECS JSON lines", json_n, json_s)]
        base_rate = base_n / base_s
        print(f"{args.packets:,}-packet Modbus/TCP capture, {len(events):,} protocol events, "
              f"{path.stat().st_size / 1e6:.1f} MB")
        print(f"{'run':<38} {'packets':>9} {'seconds':>8} {'packets/s':>11} {'× baseline':>11}")
        for name, n, s in rows:
            print(f"{name:<38} {n:>9,} {s:>8.2f} {n / s:>11,.0f} {n / s / base_rate:>11.3f}")
        print(tshark_agreement(path, events))


if __name__ == "__main__":
    main()
