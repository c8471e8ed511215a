"""Passive monitor throughput: packets/s of the whole pipeline (pcap → decode → TCP
reassembly → Modbus dissection → inventory and communication map) on a generated capture
of mixed industrial traffic, against tshark on the same file (run as an external program,
never imported) and a plain `struct.unpack_from` walk over the pcap records. tshark's
Modbus function codes are compared with ours frame by frame, and the peak RSS of the
pipeline is measured on two capture lengths to show that memory stays flat.

    .venv/bin/python bench/monitor.py [--packets 1000000] [--rss 200000,1000000]
                                      [--no-json] [--no-tshark] [--stages]
"""

from __future__ import annotations

import argparse
import array
import collections
import io
import os
import resource
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TextIO

from isthmus.security import Monitor, MonitorEvent, to_ecs
from isthmus.security.capture import PcapReader, PcapWriter
from isthmus.security.craft import Endpoint, TcpConversation, ethernet, ip_packet, udp
from isthmus.security.dissectors.modbus import ModbusEvent, ModbusSession
from isthmus.security.events import FlowKey
from isthmus.security.packets import Packet, PacketDecoder
from isthmus.security.reassembly import Reassembler, TcpFlow

T0 = 1_764_000_000_000_000_000
STEP_NS = 1_000                   # frame i (0-based) is captured at T0 + i µs: frame.number i+1
GATEWAY_PORT = 5020               # Modbus/TCP on a non-standard port (tshark needs -d)
_ARP = bytes.fromhex("ffffffffffff020000000201080600010800060400010200000002010a010001"
                     "0000000000000a010101")


def _adu(tid: int, pdu: bytes, unit: int = 1) -> bytes:
    return struct.pack(">HHHB", tid & 0xFFFF, 0, len(pdu) + 1, unit) + pdu


def _read(fc: int, quantity: int) -> tuple[bytes, bytes]:
    data = bytes(quantity * 2) if fc >= 3 else bytes((quantity + 7) // 8)
    return struct.pack(">BHH", fc, 0, quantity), bytes([fc, len(data)]) + data


_WRITES = [(b"\x10\x00\x00\x00\x02\x04\x00\x01\x00\x02", b"\x10\x00\x00\x00\x02"),
           (b"\x06\x00\x08\x01\xf4", b"\x06\x00\x08\x01\xf4"),
           (b"\x05\x00\x07\xff\x00", b"\x05\x00\x07\xff\x00")]
_ENGINEERING = [(b"\x10\x00\x0a\x00\x02\x04\x00\x01\x00\x02", b"\x10\x00\x0a\x00\x02"),
                (b"\x08\x00\x00\xab\xcd", b"\x08\x00\x00\xab\xcd"),
                (b"\x2b\x0e\x01\x00", b"\x2b\x0e\x01\x01\x00\x00\x01\x00\x04Acme"),
                (b"\x03\x27\x0f\x00\x01", b"\x83\x02")]


def _traffic() -> Iterator[bytes]:
    """Endless mixed traffic: ten HMIs polling ten PLCs (reads of holding/input registers,
    coils and inputs; a write now and then; pipelined requests; a response split over two
    segments), an engineering workstation on a gateway port (writes, diagnostics, device
    identification, an exception), ARP and NTP. Connections are re-opened now and then."""
    plcs = [Endpoint(f"10.1.1.{1 + i}", 502, f"02:00:00:00:02:{i:02x}") for i in range(10)]
    hmis = [Endpoint(f"10.1.0.{100 + i}", 40000 + i, f"02:00:00:00:01:{i:02x}")
            for i in range(10)]
    gateway = Endpoint("10.1.1.50", GATEWAY_PORT, "02:00:00:00:02:50")
    ews = TcpConversation(Endpoint("10.1.0.20", 50000, "02:00:00:00:01:20"), gateway)
    convs = [TcpConversation(h, p) for h, p in zip(hmis, plcs, strict=True)]
    for conv in [*convs, ews]:
        yield from conv.handshake()
    tid = 0
    while True:
        tid += 1
        slot = tid % 10
        conv, kind = convs[slot], tid % 100
        if kind < 85:
            request, response = _read(3 if tid % 2 else 4, 10)
        elif kind < 90:
            request, response = _read(1 if tid % 2 else 2, 16)
        elif kind < 95:
            request, response = _WRITES[tid % 3]
        elif kind == 95:                          # two requests in one segment, then answers
            second, answer = _read(3, 2)
            request, response = _read(4, 4)
            yield conv.send(True, _adu(tid, request) + _adu(tid + 1000, second))
            yield conv.send(False, _adu(tid, response) + _adu(tid + 1000, answer))
            continue
        elif kind == 96:                          # a response split over two segments
            request, response = _read(3, 20)
            whole = _adu(tid, response)
            yield conv.send(True, _adu(tid, request))
            yield conv.send(False, whole[:13])
            yield conv.send(False, whole[13:])
            continue
        elif kind == 97:
            yield ethernet(_ARP[14:], src="02:00:00:00:02:01", dst="ff:ff:ff:ff:ff:ff",
                           ethertype=0x0806)
            yield ethernet(ip_packet(udp(bytes(48), sport=123, dport=123), src="10.1.0.1",
                                     dst="10.1.1.1", protocol=17))
            continue
        else:
            conv = ews
            request, response = _ENGINEERING[(tid // 100 * 2 + kind) % len(_ENGINEERING)]
        yield conv.send(True, _adu(tid, request))
        yield conv.send(False, _adu(tid, response))
        if tid % 25_000 == 0:                     # the HMI reconnects from a new port
            yield from conv.close()
            hmi = hmis[slot] = Endpoint(hmis[slot].ip, hmis[slot].port + 100, hmis[slot].mac)
            convs[slot] = TcpConversation(hmi, plcs[slot])
            yield from convs[slot].handshake()


def generate(path: Path, packets: int) -> None:
    with path.open("wb") as stream:
        writer = PcapWriter(stream)
        for i, frame in zip(range(packets), _traffic(), strict=False):
            writer.write(T0 + i * STEP_NS, frame)


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


def pipeline(path: Path, sink: Callable[[MonitorEvent], None] | None) -> int:
    monitor = Monitor(sink=sink)
    monitor.read(path)
    return monitor.finish().frames


def ours_by_frame(path: Path) -> tuple[int, float, dict[int, list[int]]]:
    """Run the pipeline keeping (timestamp, function code) of each Modbus event: frames,
    seconds the pipeline took (grouping by frame afterwards not included), codes by frame."""
    stamps, codes = array.array("q"), array.array("B")
    add_stamp, add_code = stamps.append, codes.append

    def sink(event: MonitorEvent) -> None:
        if type(event) is ModbusEvent:
            add_stamp(event.ts_ns)
            add_code(event.function_code)

    frames, seconds = timed(pipeline, path, sink)
    by_frame: dict[int, list[int]] = collections.defaultdict(list)
    for ts, code in zip(stamps, codes, strict=True):
        by_frame[(ts - T0) // STEP_NS + 1].append(code)
    return frames, seconds, by_frame


def tshark_by_frame(tshark: str, path: Path) -> dict[int, list[int]]:
    out = subprocess.run(
        [tshark, "-r", str(path), "-T", "fields", "-e", "frame.number", "-e",
         "modbus.func_code", "-o", "tcp.analyze_sequence_numbers:FALSE",
         "-d", f"tcp.port=={GATEWAY_PORT},mbtcp"],
        capture_output=True, text=True, check=True).stdout
    by_frame: dict[int, list[int]] = {}
    for line in out.splitlines():
        number, _, codes = line.partition("\t")
        if codes:
            by_frame[int(number)] = [int(c) for c in codes.split(",")]
    return by_frame


def agreement(theirs: dict[int, list[int]], ours: dict[int, list[int]]) -> str:
    frames = sorted(set(theirs) | set(ours))
    differ = [f for f in frames if sorted(theirs.get(f, [])) != sorted(ours.get(f, []))]
    adus = sum(len(v) for v in theirs.values())
    verdict = "identical" if not differ else f"DIFFERENT on {len(differ):,} frames"
    text = (f"function codes per frame: {len(frames) - len(differ):,} of {len(frames):,} "
            f"Modbus frames agree ({adus:,} ADUs in tshark, "
            f"{sum(len(v) for v in ours.values()):,} in ours): {verdict}")
    for f in differ[:5]:
        text += f"\n  frame {f}: tshark {theirs.get(f)} ours {ours.get(f)}"
    return text


def peak_rss(path: Path) -> tuple[int, float, float]:
    """(frames, peak RSS by getrusage, by /proc VmHWM, both in MiB) of the pipeline alone,
    in a fresh process. Run it while this process is small: on Linux a child's ru_maxrss
    starts from its parent's RSS at fork time (VmHWM does not)."""
    out = subprocess.run([sys.executable, __file__, "--rss-child", str(path)],
                         capture_output=True, text=True, check=True).stdout.split()
    return int(out[0]), int(out[1]) / 1024, int(out[2]) / 1024


def _rss_child(path: Path) -> None:
    count = [0]

    def sink(event: MonitorEvent) -> None:
        count[0] += 1

    frames = pipeline(path, sink)
    status = Path("/proc/self/status")
    hwm = next((line.split()[1] for line in status.read_text().splitlines()
                if line.startswith("VmHWM:")), "0") if status.exists() else "0"
    print(frames, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, hwm)


class _Chunks:
    """A stream handler that keeps what the reassembler delivers (for the stage run)."""

    def __init__(self) -> None:
        self.chunks: list[tuple[bool, bytes, int]] = []

    def on_open(self, flow: TcpFlow) -> None: ...

    def on_data(self, flow: TcpFlow, to_server: bool, data: bytes, ts_ns: int) -> None:
        self.chunks.append((to_server, data, ts_ns))

    def on_gap(self, flow: TcpFlow, to_server: bool, offset: int, missing: int,
               ts_ns: int) -> None: ...

    def on_close(self, flow: TcpFlow, reason: str, ts_ns: int) -> None: ...


def stages(path: Path) -> None:
    """Each stage alone, its input in memory, through its general (reference) API; best of
    three. The monitor's fast paths skip the Frame, decode and reassembly stages."""
    raw = path.read_bytes()
    frames = list(PcapReader(io.BytesIO(raw)))
    decoded = [PacketDecoder().decode(f) for f in frames]
    packets = [p for p in decoded if type(p) is Packet and p.protocol == 6]
    handler = _Chunks()

    def reading() -> int:
        return sum(1 for _ in PcapReader(io.BytesIO(raw)).records())

    def framing() -> int:
        return sum(1 for _ in PcapReader(io.BytesIO(raw)))

    def decoding() -> int:
        decode = PacketDecoder().decode
        for frame in frames:
            decode(frame)
        return len(frames)

    def reassembly() -> int:
        handler.chunks.clear()
        feed = Reassembler(handler).feed
        for packet in packets:
            feed(packet)
        return len(packets)

    def session() -> int:
        parse = ModbusSession(FlowKey("10.1.0.100", 40000, "10.1.1.1", 502),
                              midstream=False).parse
        for to_server, data, ts in handler.chunks:
            parse(data, to_server=to_server, ts_ns=ts)
        return len(handler.chunks)

    def whole() -> int:
        return pipeline(path, None)

    print(f"{'stage (input in memory)':<38} {'items':>9} {'items/s':>11}")
    for name, func in [("pcap records (tuples)", reading), ("pcap records → Frame", framing),
                       ("decode Frame → Packet (general)", decoding),
                       ("reassembly Packet → data (general)", reassembly),
                       ("Modbus session data → events", session),
                       ("whole pipeline (no sink)", whole)]:
        best = max(n / s for n, s in (timed(func) for _ in range(3)))
        print(f"{name:<38} {func():>9,} {best:>11,.0f}")


def timed(func: Callable[..., Any], *args: Any) -> tuple[Any, float]:
    start = time.perf_counter()
    result = func(*args)
    return result, time.perf_counter() - start


def _json_sink(out: TextIO) -> Callable[[MonitorEvent], None]:
    import json

    def write(event: MonitorEvent) -> None:
        out.write(json.dumps(to_ecs(event), separators=(",", ":")) + "\n")
    return write


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--packets", type=int, default=1_000_000)
    parser.add_argument("--rss", default="200000,1000000",
                        help="capture lengths whose peak RSS is measured ('' for none)")
    parser.add_argument("--no-json", action="store_true", help="skip the JSON-lines run")
    parser.add_argument("--no-tshark", action="store_true", help="skip tshark")
    parser.add_argument("--stages", action="store_true",
                        help="only time each stage alone, on a --packets capture")
    parser.add_argument("--rss-child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rss_child:
        _rss_child(args.rss_child)
        return
    tshark = None if args.no_tshark else shutil.which("tshark")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "mixed.pcap"
        _, gen_s = timed(generate, path, args.packets)
        if args.stages:
            stages(path)
            return
        rss: list[str] = []
        for size in [int(s) for s in args.rss.split(",") if s]:
            rss_path = path if size == args.packets else Path(tmp) / f"rss-{size}.pcap"
            if not rss_path.exists():
                generate(rss_path, size)
            frames, maxrss, hwm = peak_rss(rss_path)
            rss.append(f"peak RSS of the pipeline over {frames:>9,} packets: {maxrss:6.1f} MiB "
                       f"(getrusage ru_maxrss), {hwm:6.1f} MiB (VmHWM)")
            if rss_path != path:
                rss_path.unlink()
        rows: list[tuple[str, int, float]] = []
        base_n, base_s = timed(baseline, path)
        rows.append(("struct.unpack_from walk (baseline)", base_n, base_s))
        theirs = None
        if tshark:
            theirs, tshark_s = timed(tshark_by_frame, tshark, path)
            rows.append(("tshark -T fields (external)", base_n, tshark_s))
        pipe_n, pipe_s, ours = ours_by_frame(path)
        rows.append(("monitor pipeline (this package)", pipe_n, pipe_s))
        if not args.no_json:
            with open(os.devnull, "w") as devnull:
                json_n, json_s = timed(pipeline, path, _json_sink(devnull))
            rows.append(("monitor pipeline + ECS JSON lines", json_n, json_s))
        print(f"{args.packets:,}-packet mixed industrial capture, "
              f"{path.stat().st_size / 1e6:.1f} MB, generated in {gen_s:.1f} s; "
              f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]}")
        base_rate = base_n / base_s
        tshark_rate = base_n / tshark_s if tshark else None
        print(f"{'run':<38} {'packets':>9} {'seconds':>8} {'packets/s':>11} "
              f"{'× walk':>8} {'× tshark':>9}")
        for name, n, s in rows:
            rate = n / s
            vs_tshark = f"{rate / tshark_rate:>9.2f}" if tshark_rate else f"{'-':>9}"
            print(f"{name:<38} {n:>9,} {s:>8.2f} {rate:>11,.0f} {rate / base_rate:>8.3f} "
                  f"{vs_tshark}")
        if theirs is not None:
            print(agreement(theirs, ours))
        else:
            print("tshark not run: function-code comparison skipped")
        print("\n".join(rss))


if __name__ == "__main__":
    main()
