"""One DNP3 connection: link frames out of each direction's byte stream (CRCs checked),
transport segments reassembled into application fragments, responses paired with
requests by application sequence number, each fragment turned into a `Dnp3Event` — or an
`Anomaly` with its stream offset when something is malformed."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from isthmus.model import Severity
from isthmus.security.dissectors.base import Output
from isthmus.security.dissectors.dnp3.application import Apdu, ApduError, parse_apdu
from isthmus.security.dissectors.dnp3.link import (
    HEADER_SIZE,
    LinkHeader,
    crc,
    find_sync,
    frame_size,
    parse_header,
    user_data,
)
from isthmus.security.dissectors.dnp3.names import (
    FUNCTIONS,
    IIN_BITS,
    LINK_PRIMARY,
    LINK_SECONDARY,
    RESPONSE,
    UNSOLICITED_RESPONSE,
)
from isthmus.security.dissectors.framed_session import FramedSession, ParseCache, remember
from isthmus.security.events import FlowKey, ProtocolEvent

__all__ = ["Dnp3Event", "Dnp3Session"]

_MAX_PARTIAL = 64           # fragments being reassembled, per connection
_MAX_FRAGMENT = 65536       # bytes of one application fragment
_SEVERITY = {"read": Severity.INFO, "session": Severity.INFO, "unsolicited": Severity.INFO,
             "write": Severity.LOW, "select": Severity.LOW, "operate": Severity.MEDIUM,
             "control": Severity.MEDIUM, "time_sync": Severity.LOW, "file": Severity.MEDIUM,
             "restart": Severity.HIGH, "cpu_stop": Severity.HIGH,
             "cpu_start": Severity.HIGH, "program": Severity.HIGH}


@dataclass(slots=True)
class Dnp3Event(ProtocolEvent):
    unit_id: int = 0                 # the outstation's DNP3 address
    source: int = 0
    destination: int = 0
    function_code: int | None = None
    function: str = ""
    sequence: int | None = None
    address: int | None = None       # first point index of the first object header
    quantity: int | None = None
    values: list[int | float] | None = None
    iin: list[str] | None = None
    objects: list[dict[str, int]] = field(default_factory=list)
    detail: dict[str, Any] = field(default_factory=dict)
    offset: int = 0                  # stream offset of the link frame that ended the message
    paired: bool = False

    def may_identify_server(self) -> bool:
        return False                 # DNP3 answers carry no identity here

    def fields(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "unit_id": self.unit_id, "source": self.source, "destination": self.destination,
            "function": self.function, "direction": self.direction,
            "operation": self.operation,
        }
        for name in ("function_code", "sequence", "address", "quantity", "values", "iin"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        if self.objects:
            out["objects"] = self.objects
        out.update(self.detail)
        return out

    def summary(self) -> str:
        text = f"dnp3 {self.function} {self.direction} {self.source} -> {self.destination}"
        if self.objects:
            first = self.objects[0]
            text += f" g{first['group']}v{first['variation']}"
        if self.address is not None:
            text += f" index {self.address}"
        if self.quantity is not None:
            text += f" count {self.quantity}"
        return text


_Parsed = tuple[Apdu, list[dict[str, int]]]
_REQUESTS: ParseCache[bytes, _Parsed] = ParseCache()    # fragments after the control byte
_IIN_NAMES: dict[int, list[str]] = {}


def _parse(fragment: bytes) -> _Parsed:
    """The fragment parsed, with its object headers as dicts. Polls repeat the same
    requests (only the sequence in the control byte changes), so requests are parsed once;
    what is shared between their events is never changed once made."""
    if len(fragment) < 2 or fragment[1] >= RESPONSE:
        apdu = parse_apdu(fragment)
        return apdu, [o.to_dict() for o in apdu.objects]
    key = fragment[1:]
    found = _REQUESTS.get(key)
    if found is None:
        apdu = parse_apdu(fragment)
        found = _REQUESTS.keep(key, (apdu, [o.to_dict() for o in apdu.objects]))
    return found


def _iin_names(iin: int) -> list[str]:
    """The names of the internal indications set (shared lists, never changed)."""
    found = _IIN_NAMES.get(iin)
    if found is None:
        found = [name for bit, name in enumerate(IIN_BITS) if iin >> bit & 1]
        if len(_IIN_NAMES) < 1024:
            _IIN_NAMES[iin] = found
    return found


@dataclass(slots=True)
class _Partial:
    next_seq: int
    data: bytearray


class Dnp3Session(FramedSession):
    """Parser state for one connection; `to_server` is the master → outstation direction
    (the direction bit of each frame is reported, not trusted)."""

    protocol = "dnp3"
    header_size = HEADER_SIZE

    def __init__(self, to_server: FlowKey, *, midstream: bool) -> None:
        super().__init__(to_server, midstream=midstream)
        self._midstream = midstream
        self._partial: dict[tuple[int, int, int], _Partial] = {}
        self._pending: dict[tuple[int, int, int], tuple[int, str]] = {}
        self.frames = 0

    def parse(self, data: bytes, *, to_server: bool, ts_ns: int) -> Output:
        side = 1 if to_server else 0
        if not self._buf[side] and not self._syncing[side]:
            whole = self._whole_frame(data, side, ts_ns)
            if whole is not None:
                return whole
        return self._scan(data, side, ts_ns)

    def _sync(self, buf: bytes, pos: int, /) -> tuple[int | None, int]:
        return find_sync(buf, pos)

    def _length(self, buf: bytes, pos: int, /) -> int | None:
        header = parse_header(buf, pos)
        return None if header is None else frame_size(header.length)

    def _bad_header(self, out: Output, buf: bytes, pos: int, side: int, ts_ns: int) -> None:
        self._anomaly(out, ts_ns, side, pos, "bad-link-header",
                      "not a DNP3 link header (start 0x0564, length 5..255, "
                      "header CRC); resynchronising")

    def _whole_frame(self, data: bytes, side: int, ts_ns: int) -> Output | None:
        """The common case in one go: the chunk is one whole user-data frame, CRCs right,
        whose single transport segment (FIR and FIN) is a whole application fragment.
        None, having changed nothing, for anything else: then the general loop looks at
        it. Gives the same events as `parse_header`, `_frame` and `_transport` would."""
        size = len(data)
        if size < 13 or data[0] != 0x05 or data[1] != 0x64 or data[10] & 0xC0 != 0xC0:
            return None
        length, control = data[2], data[3]
        if (not control & 0x40 or control & 0x0F not in (3, 4) or length < 6
                or frame_size(length) != size or crc(data[:8]) != data[8] | data[9] << 8):
            return None
        fragment, bad = user_data(data)
        if bad is not None:
            return None
        header = LinkHeader(length, control, data[4] | data[5] << 8, data[6] | data[7] << 8)
        if self._partial:                 # a first segment ends what was being reassembled
            self._partial.pop((side, header.source, header.destination), None)
        self.frames += 1
        out: Output = []
        self._application(out, fragment[1:], header, side, 0, ts_ns, size)
        self._offset[side] += size
        return out

    def _forget(self, side: int) -> None:
        for key in [k for k in self._partial if k[0] == side]:
            del self._partial[key]

    # ---- link and transport --------------------------------------------------------------

    def _frame(self, out: Output, buf: bytes, pos: int, size: int, side: int,
               ts_ns: int) -> None:
        self.frames += 1
        frame = buf[pos:pos + size]          # its header was checked by `_length`
        header = LinkHeader(frame[2], frame[3], frame[4] | frame[5] << 8,
                            frame[6] | frame[7] << 8)
        if not header.carries_user_data:
            self._link_event(out, frame, header, side, pos, ts_ns)
            return
        data, bad = user_data(frame)
        if bad is not None:
            self._anomaly(out, ts_ns, side, pos + bad, "bad-crc",
                          f"DNP3 frame {header.source} -> {header.destination}: user data "
                          "block CRC is wrong; frame dropped")
            return
        fragment = self._transport(out, data, header, side, pos, ts_ns)
        if fragment is not None:
            self._application(out, fragment, header, side, pos, ts_ns, len(frame))

    def _transport(self, out: Output, data: bytes, header: LinkHeader, side: int, pos: int,
                   ts_ns: int) -> bytes | None:
        """The application fragment this segment completes, if any."""
        th, body = data[0], data[1:]
        fir, fin, seq = th & 0x40, th & 0x80, th & 0x3F
        key = (side, header.source, header.destination)
        partial = self._partial.pop(key, None)
        if fir:
            if fin:
                return body
            if len(self._partial) >= _MAX_PARTIAL:
                del self._partial[next(iter(self._partial))]
            self._partial[key] = _Partial((seq + 1) & 0x3F, bytearray(body))
            return None
        if partial is None:
            if not self._midstream:
                self._anomaly(out, ts_ns, side, pos + HEADER_SIZE, "transport-sequence",
                              f"transport segment {seq} without a first segment; dropped")
            return None
        if seq != partial.next_seq or len(partial.data) + len(body) > _MAX_FRAGMENT:
            reason = (f"transport segment {seq}, expected {partial.next_seq}"
                      if seq != partial.next_seq else
                      f"fragment longer than {_MAX_FRAGMENT} bytes")
            self._anomaly(out, ts_ns, side, pos + HEADER_SIZE, "transport-sequence",
                          f"{reason}; fragment dropped")
            return None
        partial.data += body
        if fin:
            return bytes(partial.data)
        partial.next_seq = (seq + 1) & 0x3F
        self._partial[key] = partial
        return None

    # ---- application ---------------------------------------------------------------------

    def _application(self, out: Output, fragment: bytes, header: LinkHeader, side: int,
                     pos: int, ts_ns: int, length: int) -> None:
        try:
            apdu, objects = _parse(fragment)
        except ApduError as exc:
            self._anomaly(out, ts_ns, side, pos, "malformed-apdu",
                          f"DNP3 application fragment {header.source} -> "
                          f"{header.destination}, byte {exc.offset}: {exc}")
            return
        fc = apdu.function_code
        name, operation = FUNCTIONS.get(fc, (f"function_{fc}", "other"))
        is_response = fc >= RESPONSE
        outstation = header.source if is_response else header.destination
        master = header.destination if is_response else header.source
        sequence = fragment[0] & 0x0F
        key = (master, outstation, sequence)
        paired = False
        if fc == RESPONSE:
            request = self._pending.pop(key, None)
            if request is not None:
                paired, operation = True, request[1]
        elif not is_response and fc != 0:
            remember(self._pending, key, (fc, operation))
        if fc in (1, 2) and apdu.objects and apdu.objects[0].group == 70:
            operation = "file"                      # file transfer objects
        first = apdu.objects[0] if apdu.objects else None
        detail: dict[str, Any] = dict(apdu.detail) if apdu.detail else {}
        if fc == UNSOLICITED_RESPONSE or fragment[0] & 0x10:
            detail["unsolicited"] = True
        iin = apdu.iin
        out.append(Dnp3Event(
            ts_ns, self._keys[side], "dnp3", "response" if is_response else "request",
            operation, _SEVERITY.get(operation, Severity.LOW), length,
            outstation, header.source, header.destination, fc, name, sequence,
            first.start if first is not None else None,
            first.count if first is not None else None, apdu.values,
            _iin_names(iin) if iin is not None else None,
            objects, detail, self._offset[side] + pos, paired))

    def _link_event(self, out: Output, frame: bytes, header: LinkHeader, side: int,
                    pos: int, ts_ns: int) -> None:
        table = LINK_PRIMARY if header.primary else LINK_SECONDARY
        name = table.get(header.function, f"link_function_{header.function}")
        out.append(Dnp3Event(
            ts_ns, self._keys[side], "dnp3", "request" if header.primary else "response",
            "session", Severity.INFO, len(frame),
            header.destination if header.from_master else header.source, header.source,
            header.destination, None, f"link_{name}",
            detail={"link_function_code": header.function},
            offset=self._offset[side] + pos))
