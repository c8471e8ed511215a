"""Zeek-compatible TSV logs, so the monitor's output drops into Zeek/Malcolm tooling:

- `conn.log`: one row per connection seen by a dissector (Zeek's leading conn.log
  columns; bytes are application bytes of the dissected messages);
- `modbus.log`: Zeek's own columns (ts, uid, id, tid, unit, func, pdu_type, exception);
- `modbus_detailed.log`: CISA ICSNPP-Modbus columns (is_orig, source/destination,
  request_response, address, quantity, values);
- `dnp3.log`: Zeek's own columns (fc_request, fc_reply, iin: one row per request and
  reply), and `dnp3_isthmus.log` with the Isthmus columns below for every message;
- `<protocol>.log` for every other dissected protocol (Isthmus columns: func, operation,
  request_response, unit, address, quantity, exception);
- `notice.log`: alerts (note `Isthmus::<rule id>`, msg, sub = ATT&CK ids and names).

Each file starts with Zeek's `#separator \\x09` … `#fields` / `#types` header and ends
with `#close`; unset values are `-`, empty strings `(empty)`."""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from isthmus.security.detect.alert import Alert
from isthmus.security.detect.zeek_dnp3 import DNP3_COLUMNS, Dnp3Pairs
from isthmus.security.events import Anomaly, FlowKey, ProtocolEvent

__all__ = ["ZeekLogs", "zeek_escape"]

_ID = [("id.orig_h", "addr"), ("id.orig_p", "port"), ("id.resp_h", "addr"),
       ("id.resp_p", "port")]
_HEAD = [("ts", "time"), ("uid", "string"), *_ID]
CONN = [*_HEAD, ("proto", "enum"), ("service", "string"), ("duration", "interval"),
        ("orig_bytes", "count"), ("resp_bytes", "count")]
MODBUS = [*_HEAD, ("tid", "count"), ("unit", "count"), ("func", "string"),
          ("pdu_type", "string"), ("exception", "string")]
MODBUS_DETAILED = [*_HEAD, ("is_orig", "bool"), ("source_h", "addr"), ("source_p", "port"),
                   ("destination_h", "addr"), ("destination_p", "port"), ("tid", "count"),
                   ("unit", "count"), ("func", "string"), ("request_response", "string"),
                   ("address", "count"), ("quantity", "count"), ("values", "string")]
GENERIC = [*_HEAD, ("is_orig", "bool"), ("func", "string"), ("operation", "string"),
           ("request_response", "string"), ("unit", "count"), ("address", "count"),
           ("quantity", "count"), ("exception", "string")]
DNP3 = [*_HEAD, *DNP3_COLUMNS]
NOTICE = [*_HEAD, ("proto", "enum"), ("note", "enum"), ("msg", "string"),
          ("sub", "string"), ("src", "addr"), ("dst", "addr"), ("p", "port"), ("n", "count"),
          ("actions", "set[enum]"), ("severity", "count")]
_MAX_CONNS = 100_000
_B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def zeek_escape(value: Any) -> str:
    """A field value as Zeek writes it: `-` unset, `(empty)` empty, T/F booleans, times in
    seconds, control characters, tabs and backslashes as \\xNN."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "T" if value else "F"
    if isinstance(value, float):
        return f"{value:.6f}"
    if isinstance(value, list | tuple | set | frozenset):
        return ",".join(zeek_escape(v).replace(",", "\\x2c") for v in value) or "(empty)"
    text = str(value)
    if not text:
        return "(empty)"
    return "".join(f"\\x{ord(c):02x}" if ord(c) < 0x20 or c in "\\\x7f" else c for c in text)


def _stamp(ts_ns: int) -> float:
    return ts_ns / 1e9


def _uid(key: tuple[str, int, str, int, str], first_ns: int) -> str:
    digest = int.from_bytes(hashlib.blake2b(repr((key, first_ns)).encode(),
                                            digest_size=12).digest(), "big")
    chars = []
    for _ in range(17):
        digest, rest = divmod(digest, 62)
        chars.append(_B62[rest])
    return "C" + "".join(chars)


@dataclass(slots=True)
class _Conn:
    uid: str
    orig: tuple[str, int]
    resp: tuple[str, int]
    transport: str
    service: str
    first_ns: int
    last_ns: int
    orig_bytes: int = 0
    resp_bytes: int = 0


class _Log:
    def __init__(self, path: Path, name: str, fields: list[tuple[str, str]]) -> None:
        self.fields = fields
        self._file: TextIO = path.open("w", encoding="utf-8")
        opened = time.strftime("%Y-%m-%d-%H-%M-%S", time.gmtime())
        self._file.write("#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n"
                         f"#unset_field\t-\n#path\t{name}\n#open\t{opened}\n"
                         "#fields\t" + "\t".join(f for f, _ in fields) + "\n"
                         "#types\t" + "\t".join(t for _, t in fields) + "\n")

    def row(self, values: list[Any]) -> None:
        self._file.write("\t".join(map(zeek_escape, values)) + "\n")

    def close(self) -> None:
        self._file.write(f"#close\t{time.strftime('%Y-%m-%d-%H-%M-%S', time.gmtime())}\n")
        self._file.close()


class ZeekLogs:
    """Writes the logs into `directory` (created if missing) as events arrive."""

    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self._logs: dict[str, _Log] = {}
        self._conns: dict[tuple[str, int, str, int, str], _Conn] = {}
        self._dnp3 = Dnp3Pairs()

    def _log(self, name: str, fields: list[tuple[str, str]]) -> _Log:
        log = self._logs.get(name)
        if log is None:
            log = self._logs[name] = _Log(self.directory / f"{name}.log", name, fields)
        return log

    def write(self, event: ProtocolEvent | Anomaly | Alert) -> None:
        if isinstance(event, Alert):
            self._notice(event)
        elif isinstance(event, ProtocolEvent):
            self._event(event)

    def _conn(self, event: ProtocolEvent, request: bool) -> _Conn:
        flow = event.flow
        orig, resp = ((flow.src, flow.sport), (flow.dst, flow.dport)) if request else \
            ((flow.dst, flow.dport), (flow.src, flow.sport))
        key = (*orig, *resp, flow.transport)
        conn = self._conns.get(key)
        if conn is None:
            if len(self._conns) >= _MAX_CONNS:
                self._write_conn(self._conns.pop(next(iter(self._conns))))
            conn = self._conns[key] = _Conn(_uid(key, event.ts_ns), orig, resp,
                                            flow.transport, event.protocol, event.ts_ns,
                                            event.ts_ns)
        conn.last_ns = max(conn.last_ns, event.ts_ns)
        if request:
            conn.orig_bytes += event.length
        else:
            conn.resp_bytes += event.length
        return conn

    def _event(self, event: ProtocolEvent) -> None:
        request = event.direction == "request"
        conn = self._conn(event, request)
        head = [_stamp(event.ts_ns), conn.uid, *conn.orig, *conn.resp]
        flow = event.flow
        function = str(getattr(event, "function", "") or event.operation)
        unit, exception = getattr(event, "unit_id", None), getattr(event, "exception", None)
        address, quantity = getattr(event, "address", None), getattr(event, "quantity", None)
        if event.protocol == "modbus":
            tid = getattr(event, "transaction_id", None)
            func = function.upper() + ("_EXCEPTION" if exception else "")
            self._log("modbus", MODBUS).row(
                [*head, tid, unit, func, "REQ" if request else "RESP",
                 exception.upper() if exception else None])
            values = getattr(event, "values", None)
            self._log("modbus_detailed", MODBUS_DETAILED).row(
                [*head, request, flow.src, flow.sport, flow.dst, flow.dport, tid, unit, func,
                 "REQUEST" if request else "RESPONSE", address, quantity,
                 ",".join(map(str, values)) if values else None])
            return
        name = event.protocol
        if name == "dnp3":
            self._dnp3_row(event, conn.uid, head, request)
            name = "dnp3_isthmus"
        self._log(name, GENERIC).row(
            [*head, request, function, event.operation, "REQUEST" if request else "RESPONSE",
             unit, address, quantity, exception])

    def _dnp3_row(self, event: ProtocolEvent, uid: str, head: list[Any], request: bool) -> None:
        code = getattr(event, "function_code", None)
        if code is None:                     # a link-layer frame: not in Zeek's dnp3.log
            return
        log = self._log("dnp3", DNP3)
        if request:
            for row in self._dnp3.request(uid, head, code):
                log.row(row)
        else:
            log.row(self._dnp3.reply(uid, head, code, getattr(event, "iin", None)))

    def _notice(self, alert: Alert) -> None:
        flow: FlowKey | None = alert.flow
        uid = None
        if flow is not None:
            for key in ((flow.src, flow.sport, flow.dst, flow.dport, flow.transport),
                        (flow.dst, flow.dport, flow.src, flow.sport, flow.transport)):
                conn = self._conns.get(key)
                if conn is not None:
                    uid = conn.uid
                    break
        ids = [flow.src, flow.sport, flow.dst, flow.dport] if flow else [None] * 4
        sub = "; ".join(f"{i} {n}" for t in alert.techniques for i, n in zip(t.ids, t.names,
                                                                            strict=True))
        self._log("notice", NOTICE).row(
            [_stamp(alert.ts_ns), uid, *ids, flow.transport if flow else None,
             f"Isthmus::{alert.rule_id.replace('-', '_')}", alert.message, sub or None,
             alert.client, alert.server, flow.dport if flow else None, alert.count,
             ["Notice::ACTION_LOG"], int(alert.severity)])

    def _write_conn(self, conn: _Conn) -> None:
        self._log("conn", CONN).row(
            [_stamp(conn.first_ns), conn.uid, *conn.orig, *conn.resp, conn.transport,
             conn.service, (conn.last_ns - conn.first_ns) / 1e9, conn.orig_bytes,
             conn.resp_bytes])

    def close(self) -> None:
        for row in self._dnp3.unanswered():
            self._log("dnp3", DNP3).row(row)
        for conn in sorted(self._conns.values(), key=lambda c: c.first_ns):
            self._write_conn(conn)
        self._conns.clear()
        for log in self._logs.values():
            log.close()
        self._logs.clear()
