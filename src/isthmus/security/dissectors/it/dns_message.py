"""DNS messages (RFC 1035): header, questions and answers, with compressed names followed
safely (bounded jumps). Shared by DNS over TCP and over UDP."""

from __future__ import annotations

import ipaddress
import struct
from typing import Any

from isthmus.security.dissectors.message_session import Malformed

__all__ = ["TYPES", "parse_message", "plausible"]

TYPES = {1: "A", 2: "NS", 5: "CNAME", 6: "SOA", 12: "PTR", 15: "MX", 16: "TXT", 28: "AAAA",
         33: "SRV", 65: "HTTPS", 255: "ANY"}
_HEADER = struct.Struct(">HHHHHH")
_RR = struct.Struct(">HHIH")
_MAX_RECORDS = 32
_MAX_JUMPS = 16


def _name(msg: bytes, pos: int) -> tuple[str, int]:
    """(name, position after it in the message)."""
    labels: list[str] = []
    end, jumps = -1, 0
    while True:
        if pos >= len(msg):
            raise Malformed("truncated", "name runs past the end of the message", pos)
        size = msg[pos]
        if size & 0xC0 == 0xC0:
            if pos + 1 >= len(msg) or jumps >= _MAX_JUMPS:
                raise Malformed("bad-name", "bad or looping compression pointer", pos)
            end = pos + 2 if end < 0 else end
            pos, jumps = ((size & 0x3F) << 8) | msg[pos + 1], jumps + 1
            continue
        if size & 0xC0:
            raise Malformed("bad-name", f"label length byte {size:#04x}", pos)
        if size == 0:
            return ".".join(labels) or ".", end if end >= 0 else pos + 1
        labels.append(msg[pos + 1:pos + 1 + size].decode("ascii", "replace"))
        pos += 1 + size


def plausible(msg: bytes, *, whole: bool = True) -> bool:
    """A DNS query or answer header: opcode query/notify/update, 1–4 questions and, when
    `msg` is the whole message, record counts that fit in it."""
    if len(msg) < 12:
        return False
    _id, flags, qd, an, ns, ar = _HEADER.unpack_from(msg)
    opcode = (flags >> 11) & 0xF
    fits = not whole or (an + ns + ar) * 11 + qd * 5 <= len(msg)
    return opcode in (0, 4, 5) and 1 <= qd <= 4 and fits


def parse_message(msg: bytes) -> dict[str, Any]:
    if len(msg) < 12:
        raise Malformed("truncated", f"DNS header needs 12 bytes, got {len(msg)}")
    ident, flags, qd, an, _ns, _ar = _HEADER.unpack_from(msg)
    out: dict[str, Any] = {"id": ident, "response": bool(flags & 0x8000),
                           "opcode": (flags >> 11) & 0xF, "rcode": flags & 0xF}
    pos, questions = 12, []
    for _ in range(min(qd, _MAX_RECORDS)):
        name, pos = _name(msg, pos)
        if pos + 4 > len(msg):
            raise Malformed("truncated", "question type and class missing", pos)
        qtype = int.from_bytes(msg[pos:pos + 2], "big")
        questions.append({"name": name[:253], "type": TYPES.get(qtype, str(qtype))})
        pos += 4
    out["questions"] = questions
    answers = []
    for _ in range(min(an, _MAX_RECORDS)):
        name, pos = _name(msg, pos)
        if pos + _RR.size > len(msg):
            raise Malformed("truncated", "resource record header missing", pos)
        rtype, _cls, ttl, size = _RR.unpack_from(msg, pos)
        data = msg[pos + _RR.size:pos + _RR.size + size]
        if len(data) != size:
            raise Malformed("truncated", "resource record data runs past the end", pos)
        answers.append({"name": name[:253], "type": TYPES.get(rtype, str(rtype)), "ttl": ttl,
                        **_rdata(msg, rtype, data, pos + _RR.size)})
        pos += _RR.size + size
    if answers:
        out["answers"] = answers
    return out


def _rdata(msg: bytes, rtype: int, data: bytes, pos: int) -> dict[str, str]:
    if rtype == 1 and len(data) == 4:
        return {"data": str(ipaddress.IPv4Address(data))}
    if rtype == 28 and len(data) == 16:
        return {"data": str(ipaddress.IPv6Address(data))}
    if rtype in (2, 5, 12):
        return {"data": _name(msg, pos)[0][:253]}
    return {}
