"""Builds industrial protocol messages byte by byte: DNP3 link frames (with their CRC
blocks) and application fragments, TPKT/COTP with S7comm jobs and acknowledgements,
EtherNet/IP encapsulation with CIP requests and responses.

Used by tests and benchmarks to generate captures (wrap them with `craft.TcpConversation`);
nothing here sends a packet. The DNP3 CRC is a slow bit-by-bit reference, independent of
the dissector's table-driven one.
"""

from __future__ import annotations

import struct

__all__ = [
    "DNP3_PORT", "ENIP_PORT", "S7_PORT", "any_item", "cip_request", "cip_response",
    "cotp_cr", "cotp_dt", "cpf", "data_item", "dnp3_analog_inputs", "dnp3_class_poll",
    "dnp3_crc", "dnp3_frames", "dnp3_link_frame", "dnp3_request", "dnp3_response", "encap",
    "logical_path", "read_var", "register_session", "s7_ack_data", "s7_job", "s7_message",
    "send_rr", "send_unit", "setup_communication", "symbol_path", "tpkt", "write_var",
]

DNP3_PORT, S7_PORT, ENIP_PORT = 20000, 102, 44818

# ---- DNP3 (IEEE 1815) ------------------------------------------------------------------


def dnp3_crc(data: bytes) -> int:
    """CRC-16/DNP bit by bit: polynomial x^16+x^13+x^12+x^11+x^10+x^8+x^6+x^5+x^2+1,
    reflected, initial 0, final complement."""
    value = 0
    for byte in data:
        for bit in range(8):
            mix = (value ^ (byte >> bit)) & 1
            value >>= 1
            if mix:
                value ^= 0xA6BC
    return ~value & 0xFFFF


def _with_crc(block: bytes) -> bytes:
    return block + struct.pack("<H", dnp3_crc(block))


def dnp3_link_frame(user_data: bytes, *, dst: int, src: int, control: int) -> bytes:
    """A link frame: the 8-byte header and each 16-byte block of user data with its CRC."""
    header = struct.pack("<2sBBHH", b"\x05\x64", 5 + len(user_data), control, dst, src)
    out = _with_crc(header)
    for i in range(0, len(user_data), 16):
        out += _with_crc(user_data[i:i + 16])
    return out


def dnp3_frames(apdu: bytes, *, from_master: bool = True, segment: int = 249,
                first_seq: int = 0, master: int = 3, outstation: int = 10) -> list[bytes]:
    """The link frames carrying one application fragment, split into transport segments
    of at most `segment` bytes (249 fill a frame), sent as unconfirmed user data."""
    dst, src = (outstation, master) if from_master else (master, outstation)
    control = (0x80 if from_master else 0) | 0x40 | 0x04
    parts = [apdu[i:i + segment] for i in range(0, len(apdu), segment)] or [b""]
    out = []
    for i, part in enumerate(parts):
        th = (first_seq + i) & 0x3F | (0x40 if i == 0 else 0) | \
            (0x80 if i == len(parts) - 1 else 0)
        out.append(dnp3_link_frame(bytes([th]) + part, dst=dst, src=src, control=control))
    return out


def dnp3_request(fc: int, objects: bytes = b"", *, seq: int = 1) -> bytes:
    """An application request fragment (FIR, FIN, sequence `seq`)."""
    return bytes([0xC0 | seq, fc]) + objects


def dnp3_response(objects: bytes = b"", *, seq: int = 1, iin: int = 0, fc: int = 129,
                  unsolicited: bool = False) -> bytes:
    """An application response fragment with its internal indications."""
    control = 0xC0 | seq | (0x10 if unsolicited else 0)
    return bytes([control, fc]) + struct.pack("<H", iin) + objects


def dnp3_class_poll() -> bytes:
    """Read class 1, 2, 3 and 0 data (g60v2, v3, v4, v1, all objects)."""
    return b"".join(bytes([60, v, 0x06]) for v in (2, 3, 4, 1))


def dnp3_analog_inputs(start: int, values: list[int]) -> bytes:
    """g30v2 16-bit analog inputs with flags, qualifier 0x01 (2-byte start/stop)."""
    body = b"".join(struct.pack("<Bh", 1, v) for v in values)
    return bytes([30, 2, 0x01]) + struct.pack("<HH", start, start + len(values) - 1) + body


# ---- S7comm over ISO-on-TCP (RFC 1006 TPKT, ISO 8073 COTP) ---------------------------------


def tpkt(cotp: bytes) -> bytes:
    return struct.pack(">BBH", 3, 0, 4 + len(cotp)) + cotp


def cotp_cr(*, src_tsap: bytes = b"\x01\x00", dst_tsap: bytes = b"\x01\x02",
            confirm: bool = False) -> bytes:
    """A COTP connection request (or confirm) with TPDU size and both TSAPs, in a TPKT."""
    params = b"\xc0\x01\x0a" + b"\xc1" + bytes([len(src_tsap)]) + src_tsap + b"\xc2" + \
        bytes([len(dst_tsap)]) + dst_tsap
    fixed = bytes([0xD0 if confirm else 0xE0]) + struct.pack(">HHB", 0 if not confirm else 1,
                                                              1, 0)
    return tpkt(bytes([len(fixed) + len(params)]) + fixed + params)


def cotp_dt(payload: bytes, *, eot: bool = True) -> bytes:
    """A COTP data TPDU in a TPKT; `eot` marks the last TPDU of a message."""
    return tpkt(b"\x02\xf0" + bytes([0x80 if eot else 0]) + payload)


def s7_message(rosctr: int, param: bytes, data: bytes = b"", *, ref: int = 1,
               error: int | None = None) -> bytes:
    """An S7comm PDU; acknowledgements (ROSCTR 2 and 3) carry an error field."""
    header = struct.pack(">BBHHHH", 0x32, rosctr, 0, ref, len(param), len(data))
    if rosctr in (2, 3):
        header += struct.pack(">H", error or 0)
    return header + param + data


def s7_job(param: bytes, data: bytes = b"", *, ref: int = 1) -> bytes:
    return s7_message(1, param, data, ref=ref)


def s7_ack_data(param: bytes, data: bytes = b"", *, ref: int = 1, error: int = 0) -> bytes:
    return s7_message(3, param, data, ref=ref, error=error)


def setup_communication(pdu: int = 480) -> bytes:
    return struct.pack(">BBHHH", 0xF0, 0, 1, 1, pdu)


def any_item(area: int, db: int, byte: int, length: int, *, transport: int = 0x02,
             bit: int = 0) -> bytes:
    """An S7ANY variable specification (area 0x84 is a data block)."""
    address = (byte << 3 | bit).to_bytes(3, "big")
    return struct.pack(">BBBBHHB", 0x12, 10, 0x10, transport, length, db, area) + address


def read_var(*items: bytes) -> bytes:
    return bytes([0x04, len(items)]) + b"".join(items)


def write_var(*items: bytes) -> bytes:
    return bytes([0x05, len(items)]) + b"".join(items)


def data_item(values: bytes, *, code: int = 0xFF, transport: int = 0x04) -> bytes:
    """A data item of a read answer or write job (lengths in bits for bit/byte/word)."""
    length = len(values) * 8 if transport in (3, 4, 5) else len(values)
    return struct.pack(">BBH", code, transport, length) + values


# ---- EtherNet/IP and CIP ----------------------------------------------------------------


def encap(command: int, body: bytes = b"", *, session: int = 0x1234, status: int = 0,
          context: bytes = b"ctx00001") -> bytes:
    """An encapsulation message: the 24-byte header, then `body`."""
    return struct.pack("<HHII8sI", command, len(body), session, status, context, 0) + body


def register_session() -> bytes:
    return encap(0x65, b"\x01\x00\x00\x00", session=0)


def cpf(*items: tuple[int, bytes]) -> bytes:
    """A common packet format list of (type id, data) items."""
    return struct.pack("<H", len(items)) + b"".join(
        struct.pack("<HH", t, len(d)) + d for t, d in items)


def send_rr(cip: bytes, *, context: bytes = b"ctx00001", session: int = 0x1234) -> bytes:
    """SendRRData: an unconnected CIP message (null address, unconnected data item)."""
    body = struct.pack("<IH", 0, 10) + cpf((0x0000, b""), (0x00B2, cip))
    return encap(0x6F, body, context=context, session=session)


def send_unit(cip: bytes, *, seq: int, connection: int = 0x11223344) -> bytes:
    """SendUnitData: a connected CIP message with its sequence count."""
    body = struct.pack("<IH", 0, 0) + cpf((0x00A1, struct.pack("<I", connection)),
                                          (0x00B1, struct.pack("<H", seq) + cip))
    return encap(0x70, body)


def logical_path(cls: int, instance: int = 1, attribute: int | None = None) -> bytes:
    path = bytes([0x20, cls, 0x24, instance])
    if attribute is not None:
        path += bytes([0x30, attribute])
    return path


def symbol_path(*names: str) -> bytes:
    """ANSI extended symbolic segments (padded to even length)."""
    path = b""
    for name in names:
        raw = name.encode()
        path += bytes([0x91, len(raw)]) + raw + (b"\0" if len(raw) & 1 else b"")
    return path


def cip_request(service: int, path: bytes, data: bytes = b"") -> bytes:
    return bytes([service, len(path) // 2]) + path + data


def cip_response(service: int, data: bytes = b"", *, status: int = 0) -> bytes:
    return bytes([service | 0x80, 0, status, 0]) + data
