"""One OPC UA binary (UACP) connection: HEL/ACK (endpoint, buffer sizes), OPN (security
policy, certificates, security mode), MSG service requests and responses by their
encoding NodeId (with policy None or Sign; encrypted bodies are reported as such),
chunked messages (F/C/A), CLO and ERR."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any

from isthmus.security.dissectors.base import Output
from isthmus.security.dissectors.cursor import Cursor
from isthmus.security.dissectors.message_event import MessageEvent
from isthmus.security.dissectors.message_session import Malformed, MessageSession
from isthmus.security.dissectors.opcua.certificate import certificate_identity
from isthmus.security.dissectors.opcua.names import SECURITY_MODES, SERVICES
from isthmus.security.events import FlowKey

__all__ = ["MESSAGE_TYPES", "OpcUaEvent", "OpcUaSession", "frame_length"]

MESSAGE_TYPES = {b"HEL": "hello", b"ACK": "acknowledge", b"ERR": "error",
                 b"RHE": "reverse_hello", b"OPN": "open_secure_channel",
                 b"MSG": "message", b"CLO": "close_secure_channel"}
_CHUNK_TYPES = frozenset(b"FCA")
_HEADER = struct.Struct("<3scI")
_MAX_MESSAGE = 2 << 20          # chunks above this are reported, not buffered
_MAX_PENDING = 256              # chunked messages being assembled per connection
_POLICY_NONE = "http://opcfoundation.org/UA/SecurityPolicy#None"


@dataclass
class OpcUaEvent(MessageEvent):
    pass


def frame_length(buf: bytes, pos: int) -> int | None:
    if len(buf) - pos < 8:
        return None
    kind, chunk, size = _HEADER.unpack_from(buf, pos)
    if kind not in MESSAGE_TYPES or chunk[0] not in _CHUNK_TYPES:
        raise Malformed("bad-header", f"not a UACP header: {bytes(buf[pos:pos + 4])!r}")
    if size < 8 or size > _MAX_MESSAGE:
        raise Malformed("bad-length", f"{kind.decode()} message size {size}", 4)
    return int(size)


def _string(cur: Cursor, what: str) -> str | None:
    size = struct.unpack("<i", cur.take(4, what))[0]
    return None if size < 0 else cur.text(size, what)


def _bytes(cur: Cursor, what: str) -> bytes | None:
    size = struct.unpack("<i", cur.take(4, what))[0]
    return None if size < 0 else cur.take(size, what)


def node_id(cur: Cursor) -> int | str:
    """A NodeId: its number when numeric, else a short text form."""
    encoding = cur.u8("NodeId encoding") & 0x3F
    if encoding == 0:
        return cur.u8("NodeId")
    if encoding == 1:
        cur.u8("namespace")
        return cur.u16("NodeId")
    if encoding == 2:
        namespace = cur.u16("namespace")
        value = cur.u32("NodeId")
        return value if namespace == 0 else f"ns={namespace};i={value}"
    if encoding == 3:
        namespace = cur.u16("namespace")
        return f"ns={namespace};s={_string(cur, 'NodeId string')}"
    if encoding == 4:
        return f"ns={cur.u16('namespace')};g={cur.take(16, 'guid').hex()}"
    if encoding == 5:
        text = (_bytes(cur, "NodeId bytes") or b"").hex()
        return f"ns={cur.u16('namespace')};b={text}"
    raise Malformed("bad-nodeid", f"NodeId encoding {encoding}", cur.pos - 1)


class OpcUaSession(MessageSession):
    protocol = "opcua"
    event_type = OpcUaEvent
    max_message = _MAX_MESSAGE

    def __init__(self, to_server: FlowKey, *, midstream: bool) -> None:
        super().__init__(to_server, midstream=midstream)
        self.policy: str | None = None
        self.mode: int | None = None
        self._chunks: dict[tuple[bool, int], tuple[int | str | None, int, int]] = {}

    def frame(self, buf: bytes, pos: int, to_server: bool) -> int | None:
        return frame_length(buf, pos)

    def sync(self, buf: bytes, pos: int, to_server: bool) -> int | None:
        """The next message type token whose header is plausible (found with `find`,
        not by trying every byte)."""
        while True:
            found = [i for i in (buf.find(t, pos) for t in MESSAGE_TYPES) if i >= 0]
            if not found:
                return None
            start = min(found)
            if self.confirmed(buf, start, to_server):
                return start
            pos = start + 1

    def message(self, msg: bytes, to_server: bool, ts_ns: int, offset: int) -> Output:
        kind, chunk = msg[:3], chr(msg[3])
        cur = Cursor(msg, 8, order="<")
        detail: dict[str, Any] = {"message_type": kind.decode(), "chunk": chunk}
        if kind in (b"HEL", b"ACK", b"RHE", b"ERR"):
            return [self._connection(kind, cur, detail, to_server, ts_ns, offset, len(msg))]
        detail["secure_channel_id"] = cur.u32("secure channel id")
        if kind == b"OPN":
            return [self._open(cur, detail, to_server, ts_ns, offset, len(msg))]
        cur.u32("token id")
        cur.u32("sequence number")
        request_id = cur.u32("request id")
        detail["request_id"] = request_id
        if kind == b"CLO":
            return [self.event(to_server, ts_ns, offset, len(msg), "close_secure_channel",
                               "session", detail=detail)]
        return self._service(cur, detail, chunk, (to_server, request_id), to_server, ts_ns,
                             offset, len(msg))

    def _connection(self, kind: bytes, cur: Cursor, detail: dict[str, Any], to_server: bool,
                    ts_ns: int, offset: int, length: int) -> MessageEvent:
        if kind == b"ERR":
            detail["status_code"] = f"{cur.u32('error'):#010x}"
            detail["reason"] = (_string(cur, "reason") or "")[:200]
        elif kind == b"RHE":
            detail["server_uri"] = (_string(cur, "server uri") or "")[:200]
            detail["endpoint_url"] = (_string(cur, "endpoint url") or "")[:200]
        else:
            detail["protocol_version"] = cur.u32("protocol version")
            detail["receive_buffer_size"] = cur.u32("receive buffer size")
            detail["send_buffer_size"] = cur.u32("send buffer size")
            detail["max_message_size"] = cur.u32("max message size")
            detail["max_chunk_count"] = cur.u32("max chunk count")
            if kind == b"HEL":
                detail["endpoint_url"] = (_string(cur, "endpoint url") or "")[:200]
        event = self.event(to_server, ts_ns, offset, length, MESSAGE_TYPES[kind], "session",
                           detail=detail)
        return event

    def _open(self, cur: Cursor, detail: dict[str, Any], to_server: bool, ts_ns: int,
              offset: int, length: int) -> MessageEvent:
        policy = _string(cur, "security policy uri")
        certificate = _bytes(cur, "sender certificate")
        _bytes(cur, "receiver certificate thumbprint")
        self.policy = policy
        detail["security_policy_uri"] = policy
        detail["sender_certificate"] = certificate is not None
        identity = None
        if certificate and not to_server:
            identity = certificate_identity(certificate)
        if policy == _POLICY_NONE:
            cur.u32("sequence number")
            detail["request_id"] = cur.u32("request id")
            if to_server:
                self._open_request(cur, detail)
        event = self.event(to_server, ts_ns, offset, length, "open_secure_channel", "session",
                           detail=detail, identity=identity)
        return event

    def _open_request(self, cur: Cursor, detail: dict[str, Any]) -> None:
        """The request header is skipped to reach the requested security mode."""
        if node_id(cur) != 446:
            return
        _request_header(cur)
        cur.u32("client protocol version")
        detail["request_type"] = "renew" if cur.u32("request type") else "issue"
        self.mode = cur.u32("security mode")
        detail["security_mode"] = SECURITY_MODES.get(self.mode, f"mode_{self.mode}")

    def _service(self, cur: Cursor, detail: dict[str, Any], chunk: str,
                 key: tuple[bool, int], to_server: bool, ts_ns: int, offset: int,
                 length: int) -> Output:
        pending = self._chunks.pop(key, None)
        if pending is not None:
            service, chunks, total = pending[0], pending[1] + 1, pending[2] + length
        else:
            service, chunks, total = self._service_id(cur), 1, length
        if chunk == "C":
            if len(self._chunks) >= _MAX_PENDING:
                del self._chunks[next(iter(self._chunks))]
            self._chunks[key] = (service, chunks, total)
            return []
        detail["chunks"] = chunks
        if chunk == "A":
            detail["aborted"] = True
        if service is None:
            detail["encrypted"] = True
            return [self.event(to_server, ts_ns, offset, total, "encrypted", "other",
                               detail=detail)]
        name, operation, is_response = SERVICES.get(
            service if isinstance(service, int) else -1, (f"service_{service}", "other",
                                                          not to_server))
        detail["service_id"] = service
        return [self.event(to_server, ts_ns, offset, total, name, operation, detail=detail,
                           direction="response" if is_response else "request")]

    def _service_id(self, cur: Cursor) -> int | str | None:
        """The body's type NodeId, or None when the channel encrypts (mode 3, or an
        unknown mode with a policy other than None)."""
        if self.mode == 3 or (self.mode is None and self.policy not in (None, _POLICY_NONE)):
            return None
        return node_id(cur)


def _request_header(cur: Cursor) -> None:
    node_id(cur)                                    # authentication token
    cur.take(8, "timestamp")
    cur.u32("request handle")
    cur.u32("return diagnostics")
    _string(cur, "audit entry id")
    cur.u32("timeout hint")
    node_id(cur)                                    # additional header type
    if cur.u8("extension object encoding") in (1, 2):
        _bytes(cur, "additional header body")
