"""Passive monitor throughput: packets/s of the whole `isthmus monitor` pipeline (pcap →
decode → TCP reassembly → Modbus, DNP3, S7comm and EtherNet/IP dissection → inventory and
communication map → the default detector) on a generated capture of mixed industrial
traffic, against tshark on the same file (run as an external program, never imported) and
a plain `struct.unpack_from` walk over the pcap records. tshark's function codes
(modbus.func_code, dnp3.al.func, s7comm.param.func, enip.command) are compared with ours
frame by frame, and the peak RSS of the pipeline is measured on two capture lengths to
show that memory stays flat. Rates are by CPU time, so other load on the machine counts
less; wall time is shown beside them.

    .venv/bin/python bench/monitor.py [--packets 1000000] [--rss 200000,1000000]
                                      [--no-json] [--no-tshark] [--stages]
"""

from __future__ import annotations

import argparse
import array
import collections
import functools
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
from typing import Any, BinaryIO

from isthmus.security import Monitor, MonitorEvent, craft_ics, to_ecs
from isthmus.security.capture import PcapReader, PcapWriter
from isthmus.security.craft import Endpoint, TcpConversation, ethernet, ip_packet, udp
from isthmus.security.detect import Detector, Zones, load_rules
from isthmus.security.dissectors import by_name
from isthmus.security.dissectors.dnp3 import Dnp3Event
from isthmus.security.dissectors.enip import EnipEvent
from isthmus.security.dissectors.modbus import ModbusEvent
from isthmus.security.dissectors.s7 import S7Event
from isthmus.security.ecs import json_line
from isthmus.security.packets import Packet, PacketDecoder
from isthmus.security.reassembly import Reassembler, TcpFlow

T0 = 1_764_000_000_000_000_000
STEP_NS = 1_000                   # frame i (0-based) is captured at T0 + i µs: frame.number i+1
GATEWAY_PORT = 5020               # Modbus/TCP on a non-standard port (tshark needs -d)
PROTOCOLS = ("modbus", "dnp3", "s7", "enip")
#: the tshark field that holds each protocol's function code (command, for EtherNet/IP)
TSHARK_FIELDS = {"modbus": "modbus.func_code", "dnp3": "dnp3.al.func",
                 "s7": "s7comm.param.func", "enip": "enip.command"}
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


def _conversations(net: int, port: int, count: int) -> list[TcpConversation]:
    """`count` clients 10.<net>.0.100+i talking to servers 10.<net>.1.1+i on `port`."""
    return [TcpConversation(Endpoint(f"10.{net}.0.{100 + i}", 40000 + i,
                                     f"02:00:00:{net:02x}:01:{i:02x}"),
                            Endpoint(f"10.{net}.1.{1 + i}", port,
                                     f"02:00:00:{net:02x}:02:{i:02x}"))
            for i in range(count)]


def _modbus(tid: int, conv: TcpConversation, ews: TcpConversation) -> Iterator[bytes]:
    """One Modbus exchange: mostly register reads; coils, writes, two requests in one
    segment, a response split over two segments, engineering on the gateway port."""
    kind = tid % 100
    if kind < 85:
        request, response = _read(3 if tid % 2 else 4, 10)
    elif kind < 90:
        request, response = _read(1 if tid % 2 else 2, 16)
    elif kind < 95:
        request, response = _WRITES[tid % 3]
    elif kind == 95:
        second, answer = _read(3, 2)
        request, response = _read(4, 4)
        yield conv.send(True, _adu(tid, request) + _adu(tid + 1000, second))
        yield conv.send(False, _adu(tid, response) + _adu(tid + 1000, answer))
        return
    elif kind == 96:
        request, response = _read(3, 20)
        whole = _adu(tid, response)
        yield conv.send(True, _adu(tid, request))
        yield conv.send(False, whole[:13])
        yield conv.send(False, whole[13:])
        return
    else:
        conv = ews
        request, response = _ENGINEERING[(tid // 100 * 2 + kind) % len(_ENGINEERING)]
    yield conv.send(True, _adu(tid, request))
    yield conv.send(False, _adu(tid, response))


@functools.cache
def _dnp3_poll(seq: int, points: int, reading: int) -> tuple[list[bytes], list[bytes]]:
    """A class poll and its answer of `points` analog inputs (more than 82 need two
    transport segments, hence two link frames); `reading` varies the values, as a
    process does (251 readings × 16 sequence numbers: the answers rarely repeat)."""
    request = craft_ics.dnp3_request(1, craft_ics.dnp3_class_poll(), seq=seq)
    values = [(reading * 37 + i * 11) % 4000 for i in range(points)]
    response = craft_ics.dnp3_response(craft_ics.dnp3_analog_inputs(0, values), seq=seq)
    return (craft_ics.dnp3_frames(request),
            craft_ics.dnp3_frames(response, from_master=False, first_seq=seq))


def _dnp3(n: int, conv: TcpConversation) -> Iterator[bytes]:
    request, response = _dnp3_poll(n % 16, 100 if n % 200 == 0 else 10, n % 251)
    yield conv.send(True, b"".join(request))
    for frame in response:                       # each link frame in its own segment
        yield conv.send(False, frame)


def _s7(n: int, conv: TcpConversation) -> Iterator[bytes]:
    """A read_var job and its ack_data; now and then the answer comes in two COTP data
    TPDUs, in two segments."""
    ref = n & 0xFFFF
    item = craft_ics.any_item(0x84, 1 + n % 4, (n % 32) * 2, 8)
    yield conv.send(True, craft_ics.cotp_dt(craft_ics.s7_job(craft_ics.read_var(item),
                                                             ref=ref)))
    answer = craft_ics.s7_ack_data(bytes([4, 1]), craft_ics.data_item(bytes(range(8))),
                                   ref=ref)
    if n % 100 == 0:
        yield conv.send(False, craft_ics.cotp_dt(answer[:10], eot=False))
        yield conv.send(False, craft_ics.cotp_dt(answer[10:]))
    else:
        yield conv.send(False, craft_ics.cotp_dt(answer))


def _enip(n: int, conv: TcpConversation) -> Iterator[bytes]:
    """A CIP Read Tag, unconnected (SendRRData) or connected (SendUnitData)."""
    request = craft_ics.cip_request(0x4C, craft_ics.symbol_path(f"Line{n % 4}_Speed"),
                                    b"\x01\x00")
    answer = craft_ics.cip_response(0x4C, struct.pack("<Hi", 0xC4, n % 1000))
    if n % 2:
        context = struct.pack("<Q", n)
        yield conv.send(True, craft_ics.send_rr(request, context=context))
        yield conv.send(False, craft_ics.send_rr(answer, context=context))
    else:
        yield conv.send(True, craft_ics.send_unit(request, seq=n & 0xFFFF))
        yield conv.send(False, craft_ics.send_unit(answer, seq=n & 0xFFFF))


def _openings(s7: list[TcpConversation], enip: list[TcpConversation]) -> Iterator[bytes]:
    """COTP connection and S7 setup on each S7 connection; EtherNet/IP session
    registration on each EtherNet/IP one."""
    for conv in s7:
        yield conv.send(True, craft_ics.cotp_cr())
        yield conv.send(False, craft_ics.cotp_cr(confirm=True))
        setup = craft_ics.setup_communication()
        yield conv.send(True, craft_ics.cotp_dt(craft_ics.s7_job(setup)))
        yield conv.send(False, craft_ics.cotp_dt(craft_ics.s7_ack_data(setup)))
    for conv in enip:
        yield conv.send(True, craft_ics.register_session())
        yield conv.send(False, craft_ics.encap(0x65, b"\x01\x00\x00\x00"))


def _traffic() -> Iterator[bytes]:
    """Endless mixed traffic, exchanges interleaved across connections: Modbus/TCP (40 %,
    eight HMIs polling eight PLCs and an engineering workstation on a gateway port), DNP3
    class polls (20 %), S7comm reads (20 %), EtherNet/IP CIP Read Tag (15 %), ARP and NTP.
    Modbus connections are re-opened now and then."""
    modbus = _conversations(1, 502, 8)
    ews = TcpConversation(Endpoint("10.1.0.20", 50000, "02:00:00:00:01:20"),
                          Endpoint("10.1.1.50", GATEWAY_PORT, "02:00:00:00:02:50"))
    dnp3 = _conversations(2, craft_ics.DNP3_PORT, 3)
    s7 = _conversations(3, craft_ics.S7_PORT, 3)
    enip = _conversations(4, craft_ics.ENIP_PORT, 3)
    for conv in [*modbus, ews, *dnp3, *s7, *enip]:
        yield from conv.handshake()
    yield from _openings(s7, enip)
    n = 0
    while True:
        n += 1
        kind = n % 20
        if kind < 8:
            tid = n // 20 * 8 + kind
            slot = tid % 8
            yield from _modbus(tid, modbus[slot], ews)
            if tid % 25_000 == 0:                 # the HMI reconnects from a new port
                yield from modbus[slot].close()
                old = modbus[slot]
                modbus[slot] = TcpConversation(
                    Endpoint(old.client.ip, old.client.port + 100, old.client.mac), old.server)
                yield from modbus[slot].handshake()
        elif kind < 12:
            yield from _dnp3(n // 20 * 4 + kind - 8, dnp3[n % 3])
        elif kind < 16:
            yield from _s7(n // 20 * 4 + kind - 12, s7[n % 3])
        elif kind < 19:
            yield from _enip(n // 20 * 3 + kind - 16, enip[n % 3])
        else:
            yield ethernet(_ARP[14:], src="02:00:00:00:02:01", dst="ff:ff:ff:ff:ff:ff",
                           ethertype=0x0806)
            yield ethernet(ip_packet(udp(bytes(48), sport=123, dport=123), src="10.1.0.1",
                                     dst="10.1.1.1", protocol=17))


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


def pipeline(path: Path, sink: Callable[[MonitorEvent], None] | None, *,
             detect: bool = True) -> int:
    """The whole `isthmus monitor` pipeline, with its default detector unless told not to."""
    detector = Detector(rules=load_rules(), zones=Zones()) if detect else None
    monitor = Monitor(sink=sink, detector=detector)
    monitor.read(path)
    return monitor.finish().frames


_Codes = dict[int, dict[str, list[int]]]      # frame number → protocol → function codes


def _function_code(event: MonitorEvent) -> tuple[int, int] | None:
    """(protocol index in PROTOCOLS, code) for the events that tshark's fields show."""
    if isinstance(event, ModbusEvent):
        return 0, event.function_code
    if isinstance(event, Dnp3Event) and event.function_code is not None:
        return 1, event.function_code
    if isinstance(event, S7Event) and event.rosctr in ("job", "ack_data") \
            and event.function_code is not None:
        return 2, event.function_code
    if isinstance(event, EnipEvent):
        return 3, event.command_code
    return None


def ours_by_frame(path: Path) -> tuple[int, float, float, _Codes]:
    """Run the pipeline keeping (timestamp, protocol, function code) of each event:
    frames, wall and CPU seconds the pipeline took (grouping by frame afterwards not
    included), codes by frame."""
    stamps, protocols, codes = array.array("q"), array.array("B"), array.array("H")

    def sink(event: MonitorEvent) -> None:
        found = _function_code(event)
        if found is not None:
            stamps.append(event.ts_ns)
            protocols.append(found[0])
            codes.append(found[1])

    frames, wall, cpu = measured(pipeline, path, sink)
    by_frame: _Codes = collections.defaultdict(dict)
    for ts, protocol, code in zip(stamps, protocols, codes, strict=True):
        by_frame[(ts - T0) // STEP_NS + 1].setdefault(PROTOCOLS[protocol], []).append(code)
    return frames, wall, cpu, by_frame


def tshark_command(tshark: str, path: Path) -> list[str]:
    command = [tshark, "-r", str(path), "-o", "tcp.analyze_sequence_numbers:FALSE",
               "-d", f"tcp.port=={GATEWAY_PORT},mbtcp", "-T", "fields", "-e", "frame.number"]
    for protocol in PROTOCOLS:
        command += ["-e", TSHARK_FIELDS[protocol]]
    return command


def tshark_by_frame(tshark: str, path: Path) -> _Codes:
    out = subprocess.run(tshark_command(tshark, path), capture_output=True, text=True,
                         check=True).stdout
    by_frame: _Codes = {}
    for line in out.splitlines():
        number, *columns = line.split("\t")
        found = {protocol: [int(c, 16) if c.startswith("0x") else int(c)
                            for c in column.split(",")]
                 for protocol, column in zip(PROTOCOLS, columns, strict=False) if column}
        if found:
            by_frame[int(number)] = found
    return by_frame


def agreement(theirs: _Codes, ours: _Codes) -> str:
    """Frame by frame and protocol by protocol, whether the function codes agree."""
    lines = []
    for protocol in PROTOCOLS:
        mine = {f: sorted(c[protocol]) for f, c in ours.items() if protocol in c}
        other = {f: sorted(c[protocol]) for f, c in theirs.items() if protocol in c}
        frames = sorted(set(mine) | set(other))
        differ = [f for f in frames if mine.get(f) != other.get(f)]
        verdict = "identical" if not differ else f"DIFFERENT on {len(differ):,} frames"
        lines.append(f"  {protocol:<7} {TSHARK_FIELDS[protocol]:<18} "
                     f"{len(frames) - len(differ):>9,} of {len(frames):>9,} frames agree "
                     f"({sum(map(len, other.values())):,} codes in tshark, "
                     f"{sum(map(len, mine.values())):,} in ours): {verdict}")
        lines += [f"    frame {f}: tshark {other.get(f)} ours {mine.get(f)}"
                  for f in differ[:5]]
    return "function codes per frame, ours vs tshark:\n" + "\n".join(lines)


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
    """A stream handler that keeps what the reassembler delivers, by flow (for the stage
    run)."""

    def __init__(self) -> None:
        self.chunks: dict[TcpFlow, list[tuple[bool, bytes, int]]] = {}

    def on_open(self, flow: TcpFlow) -> None:
        self.chunks[flow] = []

    def on_data(self, flow: TcpFlow, to_server: bool, data: bytes, ts_ns: int) -> None:
        self.chunks[flow].append((to_server, data, ts_ns))

    def on_gap(self, flow: TcpFlow, to_server: bool, offset: int, missing: int,
               ts_ns: int) -> None: ...

    def on_close(self, flow: TcpFlow, reason: str, ts_ns: int) -> None: ...


def _protocol_of(flow: TcpFlow) -> str:
    return "modbus" if flow.server_port in (502, GATEWAY_PORT) else {
        craft_ics.DNP3_PORT: "dnp3", craft_ics.S7_PORT: "s7",
        craft_ics.ENIP_PORT: "enip"}[flow.server_port]


def _session_stage(handler: _Chunks, protocol: str) -> Callable[[], int]:
    """Each connection of `protocol` through a new session of its dissector."""
    dissector = by_name(protocol)
    flows = [(f, c) for f, c in handler.chunks.items() if _protocol_of(f) == protocol]

    def run() -> int:
        count = 0
        for flow, chunks in flows:
            parse = dissector.session(flow.key(True), midstream=False).parse
            for to_server, data, ts in chunks:
                parse(data, to_server=to_server, ts_ns=ts)
            count += len(chunks)
        return count
    return run


def stages(path: Path) -> None:
    """Each stage alone, its input in memory, through its general (reference) API; best of
    three, by CPU time. The monitor's fast paths skip the Frame, decode and reassembly
    stages; the sessions' own shortcuts are part of their stage."""
    raw = path.read_bytes()
    frames = list(PcapReader(io.BytesIO(raw)))
    decoded = [PacketDecoder().decode(f) for f in frames]
    packets = [p for p in decoded if type(p) is Packet and p.protocol == 6]
    handler = _Chunks()
    feed = Reassembler(handler).feed
    for packet in packets:
        feed(packet)

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
        feed = Reassembler(_Chunks()).feed
        for packet in packets:
            feed(packet)
        return len(packets)

    runs = [("pcap records (tuples)", reading), ("pcap records → Frame", framing),
            ("decode Frame → Packet (general)", decoding),
            ("reassembly Packet → data (general)", reassembly)]
    runs += [(f"{p} sessions: segments → events", _session_stage(handler, p))
             for p in PROTOCOLS]
    runs += [("whole pipeline, no detector", lambda: pipeline(path, None, detect=False)),
             ("whole pipeline, default detector", lambda: pipeline(path, None))]
    print(f"{'stage (input in memory)':<38} {'items':>9} {'items/s CPU':>12}")
    for name, func in runs:
        best = max(n / cpu for n, _wall, cpu in (measured(func) for _ in range(3)))
        print(f"{name:<38} {func():>9,} {best:>12,.0f}")


def timed(func: Callable[..., Any], *args: Any) -> tuple[Any, float]:
    start = time.perf_counter()
    result = func(*args)
    return result, time.perf_counter() - start


def measured(func: Callable[..., Any], *args: Any) -> tuple[Any, float, float]:
    """(result, wall seconds, CPU seconds of this process and of the children it waited
    for): CPU time does not count the time other programs on the machine took."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = time.process_time()
    result, wall = timed(func, *args)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (result, wall, time.process_time() - cpu + after.ru_utime - children.ru_utime
            + after.ru_stime - children.ru_stime)


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def _table(rows: list[tuple[str, int, float, float]], *, tshark_rate: float | None) -> None:
    """Rates by CPU time (wall time also shown); the ratio to tshark is by CPU time."""
    print(f"{'run':<38} {'packets':>9} {'wall s':>7} {'CPU s':>7} {'packets/s CPU':>14} "
          f"{'× tshark':>9}")
    for name, n, wall, cpu in rows:
        rate = n / cpu
        vs_tshark = f"{rate / tshark_rate:>9.2f}" if tshark_rate else f"{'-':>9}"
        print(f"{name:<38} {n:>9,} {wall:>7.2f} {cpu:>7.2f} {rate:>14,.0f} {vs_tshark}")


def _pipeline_child(path: Path) -> None:
    """Run the pipeline in this (child) process and print (frames, wall s, CPU s)."""
    (frames, wall, cpu) = measured(pipeline, path, None)
    print(frames, wall, cpu)


def sources_run(path: Path) -> tuple[int, float, float]:
    """The default pipeline in a child process that imports the sources, not the compiled
    modules (ISTHMUS_PURE_PYTHON=1): what `make native` buys. Its own timing, so the
    interpreter's start is not counted."""
    out = subprocess.run([sys.executable, __file__, "--pipeline-child", str(path)], check=True,
                         env={**os.environ, "ISTHMUS_PURE_PYTHON": "1"}, capture_output=True,
                         text=True).stdout.split()
    return int(out[0]), float(out[1]), float(out[2])


def _compiled() -> str:
    import isthmus.security.monitor as module
    from isthmus.native import compiled_files, is_compiled
    if os.environ.get("ISTHMUS_PURE_PYTHON") or not is_compiled(module):
        return "the monitor runs from its Python sources (no `make native` build)"
    return (f"the monitor's per-packet path is compiled with mypyc (`make native`: "
            f"{len(compiled_files()) - 1} modules)")


def _json_sink(out: BinaryIO) -> Callable[[MonitorEvent], None]:
    """What `isthmus monitor --out FILE` writes per event."""
    def write(event: MonitorEvent) -> None:
        out.write(json_line(to_ecs(event)))
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
    parser.add_argument("--no-sources", action="store_true",
                        help="skip the run of the pure-Python sources")
    parser.add_argument("--rss-child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--pipeline-child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.pipeline_child:
        _pipeline_child(args.pipeline_child)
        return
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
        print(f"{args.packets:,}-packet mixed industrial capture "
              f"({', '.join(PROTOCOLS)}), {path.stat().st_size / 1e6:.1f} MB, generated in "
              f"{gen_s:.1f} s; {os.cpu_count()} CPUs, load average {_load()} at start, "
              f"Python {sys.version.split()[0]}; {_compiled()}")
        rows: list[tuple[str, int, float, float]] = []
        base_n, base_s, base_cpu = measured(baseline, path)
        rows.append(("struct.unpack_from walk (baseline)", base_n, base_s, base_cpu))
        theirs = None
        if tshark:
            theirs, tshark_s, tshark_cpu = measured(tshark_by_frame, tshark, path)
            rows.append(("tshark -T fields (external)", base_n, tshark_s, tshark_cpu))
        rows.append(("monitor, default detector", *measured(pipeline, path, None)))
        rows.append(("monitor, no detector (--no-detect)",
                     *measured(functools.partial(pipeline, detect=False), path, None)))
        if not args.no_sources:
            rows.append(("monitor, default detector, sources", *sources_run(path)))
        ours_n, ours_s, ours_cpu, ours = ours_by_frame(path)
        rows.append(("monitor + detector + per-event sink", ours_n, ours_s, ours_cpu))
        if not args.no_json:
            with open(os.devnull, "wb") as devnull:
                rows.append(("monitor + detector + ECS JSON lines",
                             *measured(pipeline, path, _json_sink(devnull))))
        _table(rows, tshark_rate=base_n / tshark_cpu if tshark else None)
        print(f"load average {_load()} at the end")
        if theirs is not None:
            print(agreement(theirs, ours))
        else:
            print("tshark not run: function-code comparison skipped")
        print("\n".join(rss))


if __name__ == "__main__":
    main()
