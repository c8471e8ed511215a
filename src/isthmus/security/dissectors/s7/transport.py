"""ISO-on-TCP framing (RFC 1006 TPKT, ISO 8073 COTP class 0), resynchronisation in a byte
stream and recognition of S7 traffic by content: a COTP connection request with TSAP
parameters (RDP's carries a cookie or RDP_NEG_REQ instead) or COTP data carrying S7comm
(0x32) or S7comm-plus (0x72)."""

from __future__ import annotations

from dataclasses import dataclass

from isthmus.security.dissectors.base import Match
from isthmus.security.dissectors.s7.names import COTP_TYPES

__all__ = ["CR", "DT", "MAX_TPKT", "Cotp", "find_sync", "match_streams", "parse_cotp",
           "tpkt_length"]

CR, CC, DT = 0xE0, 0xD0, 0xF0
MAX_TPKT = 65535
S7_IDS = (0x32, 0x72)


def tpkt_length(buf: bytes, pos: int) -> int | None:
    """The TPKT length at `pos` if the header is plausible (version 3, reserved 0, room
    for a COTP header, a known COTP type); needs 6 bytes."""
    if pos + 6 > len(buf) or buf[pos] != 3 or buf[pos + 1] != 0:
        return None
    length = buf[pos + 2] << 8 | buf[pos + 3]
    li = buf[pos + 4]
    if length < 7 or li < 2 or 5 + li > length or buf[pos + 5] & 0xF0 not in COTP_TYPES:
        return None
    return length


@dataclass(frozen=True, slots=True)
class Cotp:
    kind: int                      # TPDU type (high nibble)
    eot: bool                      # DT: last TPDU of the message
    payload: bytes                 # DT: user data; CR/CC: the variable part
    src_tsap: bytes | None = None
    dst_tsap: bytes | None = None
    cookie: bool = False           # an RDP connection request


def parse_cotp(tpkt: bytes) -> Cotp:
    """The COTP TPDU in a whole TPKT (whose header `tpkt_length` accepted)."""
    li = tpkt[4]
    kind = tpkt[5] & 0xF0
    if kind == DT:
        return Cotp(kind, bool(tpkt[6] & 0x80), tpkt[5 + li:])
    if kind not in (CR, CC):
        return Cotp(kind, False, b"")
    params = tpkt[11:5 + li]
    src = dst = None
    pos = 0
    while pos + 2 <= len(params):
        code, size = params[pos], params[pos + 1]
        value = params[pos + 2:pos + 2 + size]
        if code == 0xC1:
            src = value
        elif code == 0xC2:
            dst = value
        pos += 2 + size
    rest = tpkt[5 + li:]
    cookie = rest.startswith(b"Cookie:") or rest[:1] == b"\x01" or b"mstshash" in tpkt
    return Cotp(kind, False, rest, src, dst, cookie)


def find_sync(buf: bytes, start: int) -> tuple[int | None, int]:
    """(position of a TPKT carrying COTP data with an S7 header, or None; position to keep
    bytes from)."""
    pos = buf.find(b"\x03\x00", start)
    while pos != -1:
        if pos + 8 > len(buf):
            return None, pos
        length = tpkt_length(buf, pos)
        if length is not None and buf[pos + 5] == DT and buf[pos + 4] == 2 \
                and buf[pos + 7] in S7_IDS:
            return pos, pos
        pos = buf.find(b"\x03\x00", pos + 1)
    return None, max(start, len(buf) - 1)


def _first_verdict(buf: bytes, *, midstream: bool) -> Match:
    if midstream:
        found, _keep = find_sync(buf, 0)
        return Match.YES if found is not None else Match.MAYBE
    if len(buf) < 8:
        return Match.MAYBE if buf == b"\x03\x00"[:len(buf)] or buf[:2] == b"\x03\x00" \
            else Match.NO
    length = tpkt_length(buf, 0)
    if length is None:
        return Match.NO
    kind = buf[5] & 0xF0
    if kind == DT:
        return Match.YES if buf[4] == 2 and buf[7] in S7_IDS else Match.NO
    if kind in (CR, CC):
        if len(buf) < length:
            return Match.MAYBE
        cotp = parse_cotp(buf[:length])
        if cotp.cookie or cotp.src_tsap is None or cotp.dst_tsap is None:
            return Match.NO
        return _after_connect(buf, length)
    return Match.NO


def _after_connect(buf: bytes, pos: int) -> Match:
    """A connection request with TSAPs is ISO-on-TCP, which MMS also uses: S7 only once
    its first data TPDU carries an S7 header."""
    while pos + 8 <= len(buf):
        length = tpkt_length(buf, pos)
        if length is None:
            return Match.NO
        if buf[pos + 5] & 0xF0 == DT:
            return Match.YES if buf[pos + 7] in S7_IDS else Match.NO
        pos += length
    return Match.MAYBE


def match_streams(to_server: bytes, to_client: bytes, *, midstream: bool) -> Match:
    verdicts = [_first_verdict(buf, midstream=midstream) for buf in (to_server, to_client)
                if buf]
    if Match.NO in verdicts:
        return Match.NO
    return Match.YES if Match.YES in verdicts else Match.MAYBE
