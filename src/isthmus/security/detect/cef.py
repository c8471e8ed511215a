"""Alerts as syslog CEF for a SIEM: an RFC 5424 header, then
`CEF:0|Isthmus|monitor|<version>|<rule id>|<rule name>|<severity 0-10>|<extension>`,
sent over UDP (one datagram per alert) or TCP (one line per alert, newline-framed as in
RFC 6587's non-transparent framing; CEF escapes newlines inside a message).

Escaping follows the CEF specification: in header fields `\\` and `|` are escaped with a
backslash; in extension values `\\` and `=` are, and CR/LF become `\\r`/`\\n`."""

from __future__ import annotations

import socket
from importlib import metadata
from typing import Any

from isthmus.model import Severity
from isthmus.security.detect.alert import Alert
from isthmus.security.detect.attack import FRAMEWORK
from isthmus.security.detect.errors import OutputError
from isthmus.security.ecs import timestamp

__all__ = ["CefSender", "cef_line", "escape_extension", "escape_header", "syslog_line"]

FACILITY_LOCAL4 = 20
_CEF_SEVERITY = {Severity.DEBUG: 0, Severity.INFO: 1, Severity.LOW: 3, Severity.MEDIUM: 5,
                 Severity.HIGH: 8, Severity.CRITICAL: 10}
_SYSLOG_SEVERITY = {Severity.DEBUG: 7, Severity.INFO: 6, Severity.LOW: 5,
                    Severity.MEDIUM: 4, Severity.HIGH: 3, Severity.CRITICAL: 2}


def _version() -> str:
    try:
        return metadata.version("isthmus")
    except metadata.PackageNotFoundError:
        return "0"


def escape_header(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\r", " ").replace("\n", " ")


def escape_extension(text: str) -> str:
    return (text.replace("\\", "\\\\").replace("=", "\\=").replace("\r", "\\r")
            .replace("\n", "\\n"))


def _extension(alert: Alert) -> list[tuple[str, Any]]:
    ids = ",".join(i for t in alert.techniques for i in t.ids)
    names = ",".join(n for t in alert.techniques for n in t.names)
    pairs: list[tuple[str, Any]] = [("rt", alert.ts_ns // 1_000_000), ("msg", alert.message),
                                    ("src", alert.client), ("dst", alert.server),
                                    ("app", alert.protocol), ("cnt", alert.count)]
    if alert.flow is not None:
        pairs += [("proto", alert.flow.transport.upper())]
    if ids:
        pairs += [("cs1Label", "attackTechniqueIds"), ("cs1", ids),
                  ("cs2Label", "attackTechniqueNames"), ("cs2", names),
                  ("cs3Label", "attackFramework"),
                  ("cs3", f"{FRAMEWORK} v{alert.attack_version}")]
    if alert.evidence:
        pairs += [("cs4Label", "evidence"), ("cs4", " | ".join(alert.evidence[:3]))]
    return pairs


def cef_line(alert: Alert, *, version: str | None = None) -> str:
    header = ["CEF:0", "Isthmus", "monitor", version or _version(), alert.rule_id,
              alert.rule_name, str(_CEF_SEVERITY.get(alert.severity, 5))]
    extension = " ".join(f"{k}={escape_extension(str(v))}" for k, v in _extension(alert))
    return "|".join([header[0], *map(escape_header, header[1:])]) + "|" + extension


def syslog_line(alert: Alert, *, hostname: str | None = None,
                version: str | None = None) -> str:
    """RFC 5424: <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID SD MSG."""
    pri = FACILITY_LOCAL4 * 8 + _SYSLOG_SEVERITY.get(alert.severity, 4)
    stamp = timestamp(alert.ts_ns)
    stamp = stamp[:26] + "Z"               # RFC 5424 allows at most 6 fraction digits
    host = (hostname or socket.gethostname() or "-").replace(" ", "_")[:255]
    return f"<{pri}>1 {stamp} {host} isthmus - {alert.rule_id} - " \
           f"{cef_line(alert, version=version)}"


class CefSender:
    """Sends each alert to `host:port` over UDP, or TCP when `tcp` (connected on open)."""

    def __init__(self, host: str, port: int, *, tcp: bool = False) -> None:
        self.address = (host, port)
        self.tcp = tcp
        self.sent = 0
        kind = socket.SOCK_STREAM if tcp else socket.SOCK_DGRAM
        try:
            info = socket.getaddrinfo(host, port, type=kind)[0]
            self._sock = socket.socket(info[0], kind)
            if tcp:
                self._sock.settimeout(10)
                self._sock.connect(info[4])
            else:
                self._sock.connect(info[4])
        except OSError as exc:
            raise OutputError(f"--cef {host}:{port}: cannot open the {'TCP' if tcp else 'UDP'}"
                              f" syslog connection: {exc}") from exc

    @classmethod
    def parse(cls, target: str, *, tcp: bool = False) -> CefSender:
        host, sep, port = target.rpartition(":")
        if not sep or not port.isdigit() or not host:
            raise OutputError(f"--cef {target!r}: expected HOST:PORT, e.g. siem.example:514")
        return cls(host.strip("[]"), int(port), tcp=tcp)

    def send(self, alert: Alert) -> None:
        line = syslog_line(alert).encode("utf-8")
        try:
            if self.tcp:
                self._sock.sendall(line + b"\n")
            else:
                self._sock.send(line)
        except OSError as exc:
            raise OutputError(f"--cef {self.address[0]}:{self.address[1]}: sending failed: "
                              f"{exc}") from exc
        self.sent += 1

    def close(self) -> None:
        self._sock.close()
