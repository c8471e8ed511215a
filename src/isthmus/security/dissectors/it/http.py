"""HTTP/1.x: request lines (method, host, path, user agent) and status lines; bodies with a
Content-Length are passed over, a chunked or upgraded direction is no longer read."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from isthmus.security.dissectors.base import Match, Output
from isthmus.security.dissectors.message_event import MessageEvent
from isthmus.security.dissectors.message_session import Malformed, MessageSession
from isthmus.security.events import FlowKey

__all__ = ["METHODS", "HttpDissector", "HttpEvent", "HttpSession"]

#: method → operation
METHODS = {b"GET": "read", b"HEAD": "read", b"OPTIONS": "other", b"TRACE": "other",
           b"POST": "write", b"PUT": "write", b"PATCH": "write", b"DELETE": "write",
           b"CONNECT": "session"}
_MAX_HEADER = 64 << 10
_KEPT = {"host": "host", "user-agent": "user_agent", "server": "server",
         "content-type": "content_type"}


@dataclass
class HttpEvent(MessageEvent):
    def summary(self) -> str:
        if self.direction == "request":
            return f"http {self.function} {self.detail.get('host', '')}{self.address or ''}"
        return f"http response {self.detail.get('status', '')}"


def _first_line_ok(buf: bytes, pos: int) -> bool:
    """Whether `buf[pos:]` starts (so far) like a request or status line."""
    head = bytes(buf[pos:pos + 8])
    if head.startswith(b"HTTP/1.") or b"HTTP/1."[:len(head)] == head:
        return True
    method, space, _ = head.partition(b" ")
    if space:
        return method in METHODS
    return any(m.startswith(method) for m in METHODS)


class HttpSession(MessageSession):
    protocol = "http"
    event_type = HttpEvent
    max_message = _MAX_HEADER

    def frame(self, buf: bytes, pos: int, to_server: bool) -> int | None:
        if not _first_line_ok(buf, pos):
            raise Malformed("bad-start-line", f"not an HTTP/1.x start line: "
                            f"{bytes(buf[pos:pos + 16])!r}")
        end = buf.find(b"\r\n\r\n", pos)
        return None if end < 0 else end + 4 - pos

    def sync(self, buf: bytes, pos: int, to_server: bool) -> int | None:
        for needle in (b"HTTP/1.",) if not to_server else tuple(m + b" /" for m in METHODS):
            found = buf.find(needle, pos)
            if found >= 0 and (found == 0 or buf[found - 1:found] == b"\n"):
                return found
        return None

    def message(self, msg: bytes, to_server: bool, ts_ns: int, offset: int) -> Output:
        lines = msg.decode("latin-1").split("\r\n")
        start = lines[0].split(" ", 2)
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, colon, value = line.partition(":")
            if colon:
                headers[name.strip().lower()] = value.strip()
        detail: dict[str, Any] = {key: headers[name][:200] for name, key in _KEPT.items()
                                  if name in headers}
        if start[0].startswith("HTTP/"):
            if len(start) < 2 or not start[1].isdigit():
                raise Malformed("bad-status-line", f"status line {lines[0][:60]!r}")
            detail.update(version=start[0][5:], status=int(start[1]))
            event = self.event(to_server, ts_ns, offset, len(msg), "response", "other",
                               detail=detail, direction="response")
            if "server" in detail:
                event.identity = {"software": detail["server"]}
        else:
            if len(start) < 3 or not start[2].startswith("HTTP/"):
                raise Malformed("bad-request-line", f"request line {lines[0][:60]!r}")
            detail["version"] = start[2][5:]
            event = self.event(to_server, ts_ns, offset, len(msg), start[0].lower(),
                               METHODS.get(start[0].encode(), "other"), detail=detail,
                               address=start[1][:200], direction="request")
        self._body(headers, to_server, start[0] == "CONNECT" or detail.get("status") == 101)
        return [event]

    def _body(self, headers: dict[str, str], to_server: bool, upgraded: bool) -> None:
        if upgraded or "chunked" in headers.get("transfer-encoding", "").lower():
            self.stop(to_server)
            return
        length = headers.get("content-length", "0")
        if not length.isdigit():
            raise Malformed("bad-content-length", f"Content-Length {length[:20]!r}")
        self.skip(to_server, int(length))


class HttpDissector:
    name = "http"
    tcp_ports = frozenset({80, 8080})

    def match(self, to_server: bytes, to_client: bytes, *, midstream: bool) -> Match:
        if midstream:
            buf = to_server if to_server else to_client
            return Match.YES if any(buf.startswith(m + b" /") for m in METHODS) or \
                buf.startswith(b"HTTP/1.") else Match.NO if buf else Match.MAYBE
        if not _first_line_ok(to_server, 0):
            return Match.NO
        line_end = to_server.find(b"\r\n")
        if line_end < 0:
            return Match.MAYBE if len(to_server) < 2048 else Match.NO
        return Match.YES if to_server[:line_end].endswith((b"HTTP/1.0", b"HTTP/1.1")) \
            else Match.NO

    def session(self, to_server: FlowKey, *, midstream: bool) -> HttpSession:
        return HttpSession(to_server, midstream=midstream)
