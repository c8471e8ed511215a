"""SMB over direct TCP / NetBIOS session service: SMB1 and SMB2/3 headers, the negotiate
dialects (offered and selected), tree connect paths, and each SMB2 command as an event.
Encrypted (transform header) and compressed messages are reported as such."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any

from isthmus.security.dissectors.base import Match, Output
from isthmus.security.dissectors.cursor import Cursor
from isthmus.security.dissectors.message_event import MessageEvent
from isthmus.security.dissectors.message_session import Malformed, MessageSession
from isthmus.security.events import FlowKey

__all__ = ["COMMANDS", "DIALECTS", "SmbDissector", "SmbEvent", "SmbSession"]

#: SMB2 command → (name, operation)
COMMANDS: dict[int, tuple[str, str]] = {
    0: ("negotiate", "session"), 1: ("session_setup", "session"), 2: ("logoff", "session"),
    3: ("tree_connect", "session"), 4: ("tree_disconnect", "session"), 5: ("create", "other"),
    6: ("close", "other"), 7: ("flush", "other"), 8: ("read", "read"), 9: ("write", "write"),
    10: ("lock", "other"), 11: ("ioctl", "other"), 12: ("cancel", "other"),
    13: ("echo", "session"), 14: ("query_directory", "read"), 15: ("change_notify", "other"),
    16: ("query_info", "read"), 17: ("set_info", "write"), 18: ("oplock_break", "other"),
}
DIALECTS = {0x0202: "2.0.2", 0x0210: "2.1", 0x0300: "3.0", 0x0302: "3.0.2", 0x0311: "3.1.1",
            0x02FF: "2.x"}
_SMB1_COMMANDS = {0x72: "negotiate", 0x73: "session_setup", 0x75: "tree_connect",
                  0x71: "tree_disconnect", 0x74: "logoff", 0x2E: "read", 0x2F: "write",
                  0xA2: "create", 0x25: "transaction", 0x32: "transaction2"}
_MAGICS = {b"\xffSMB": 1, b"\xfeSMB": 2, b"\xfdSMB": 3, b"\xfcSMB": 4}
_MAX_MESSAGE = (8 << 20) + 4


@dataclass
class SmbEvent(MessageEvent):
    pass


def _length(buf: bytes, pos: int) -> int | None:
    if len(buf) - pos >= 4 and buf[pos] == 0x85 and buf[pos + 1:pos + 4] == b"\0\0\0":
        return 4                                                # session keep-alive
    if len(buf) - pos < 8:
        return None
    if buf[pos] != 0:
        raise Malformed("bad-session-message", f"NetBIOS message type {buf[pos]:#04x}")
    if bytes(buf[pos + 4:pos + 8]) not in _MAGICS:
        raise Malformed("bad-magic", f"not an SMB header: {bytes(buf[pos + 4:pos + 8])!r}", 4)
    length = int.from_bytes(buf[pos + 1:pos + 4], "big")
    if length < 4:
        raise Malformed("bad-length", f"session message of {length} bytes holds no SMB "
                        "header", 1)
    return length + 4


def _smb2_negotiate(cur: Cursor, response: bool, detail: dict[str, Any]) -> None:
    cur.u16("structure size")
    if response:
        cur.u16("security mode")
        dialect = cur.u16("dialect")
        detail["dialect"] = DIALECTS.get(dialect, f"{dialect:#06x}")
        return
    count = cur.u16("dialect count")
    cur.take(2 + 2 + 4 + 16 + 8, "negotiate fields")
    detail["dialects"] = [DIALECTS.get(d, f"{d:#06x}")
                          for d in (cur.u16("dialect") for _ in range(min(count, 16)))]


def _smb2_tree_connect(cur: Cursor, msg: bytes, detail: dict[str, Any]) -> None:
    cur.take(4, "structure size and flags")
    offset, length = cur.u16("path offset"), cur.u16("path length")
    path = msg[4 + offset:4 + offset + length]
    detail["path"] = path.decode("utf-16-le", "replace")[:200]


def _smb1_dialects(msg: bytes) -> list[str]:
    cur = Cursor(msg, 4 + 32, order="<")
    cur.take(cur.u8("word count") * 2, "words")
    data = cur.take(cur.u16("byte count"), "dialects")
    return [d.decode("latin-1") for d in data.split(b"\0") if d.startswith(b"\x02")
            for d in (d[1:],)][:16]


class SmbSession(MessageSession):
    protocol = "smb"
    event_type = SmbEvent
    max_message = _MAX_MESSAGE

    def frame(self, buf: bytes, pos: int, to_server: bool) -> int | None:
        return _length(buf, pos)

    def sync(self, buf: bytes, pos: int, to_server: bool) -> int | None:
        """A NetBIOS header followed by an SMB magic, found with `find`."""
        while True:
            found = buf.find(b"SMB", pos + 5)
            if found < 0:
                return None
            if buf[found - 1] in (0xFF, 0xFE, 0xFD, 0xFC) and buf[found - 5] == 0:
                return found - 5
            pos = found - 4

    def message(self, msg: bytes, to_server: bool, ts_ns: int, offset: int) -> Output:
        if msg[0] == 0x85:
            return []
        version = _MAGICS[bytes(msg[4:8])]
        detail: dict[str, Any] = {"smb_version": min(version, 2)}
        if version >= 3:
            detail["encrypted" if version == 3 else "compressed"] = True
            return [self.event(to_server, ts_ns, offset, len(msg), "transform", "other",
                               detail=detail)]
        if version == 1:
            command = msg[8]
            name = _SMB1_COMMANDS.get(command, f"smb1_command_{command:#04x}")
            response = bool(msg[13] & 0x80)
            if command == 0x72 and not response:
                detail["dialects"] = _smb1_dialects(msg)
            return [self.event(to_server, ts_ns, offset, len(msg), name,
                               "session" if command in (0x72, 0x73, 0x75) else "other",
                               detail=detail,
                               direction="response" if response else "request")]
        return [self._smb2(msg, to_server, ts_ns, offset, detail)]

    def _smb2(self, msg: bytes, to_server: bool, ts_ns: int, offset: int,
              detail: dict[str, Any]) -> MessageEvent:
        cur = Cursor(msg, 4 + 12, order="<")
        command = cur.u16("command")
        cur.u16("credits")
        response = bool(cur.u32("flags") & 1)
        status = struct.unpack_from("<I", msg, 4 + 8)[0]
        cur.pos = 4 + 64
        name, operation = COMMANDS.get(command, (f"command_{command}", "other"))
        if status:
            detail["status"] = f"{status:#010x}"
        elif command == 0:
            _smb2_negotiate(cur, response, detail)
        elif command == 3 and not response:
            _smb2_tree_connect(cur, msg, detail)
        return self.event(to_server, ts_ns, offset, len(msg), name, operation, detail=detail,
                          direction="response" if response else "request",
                          address=detail.get("path"))


class SmbDissector:
    name = "smb"
    tcp_ports = frozenset({445, 139})

    def match(self, to_server: bytes, to_client: bytes, *, midstream: bool) -> Match:
        buf = to_server or to_client
        if len(buf) < 8:
            return Match.MAYBE if buf[:1] in (b"", b"\0") else Match.NO
        try:
            _length(buf, 0)
        except Malformed:
            return Match.NO
        return Match.YES

    def session(self, to_server: FlowKey, *, midstream: bool) -> SmbSession:
        return SmbSession(to_server, midstream=midstream)
