"""SIEM outputs: syslog CEF over real UDP and TCP sockets, Zeek TSV logs, ECS alerts —
each parsed back."""

from __future__ import annotations

import re
import socket
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from isthmus.model import Severity
from isthmus.security import to_ecs
from isthmus.security.detect import Alert, Detector
from isthmus.security.detect.attack import technique
from isthmus.security.detect.cef import CefSender, cef_line, escape_extension, syslog_line
from isthmus.security.detect.zeek import ZeekLogs
from isthmus.security.events import FlowKey, ProtocolEvent
from tests.security.detect.scenarios import EWS, PLC, benign, run, umas

_SYSLOG = re.compile(r"<(\d+)>1 (\S+) (\S+) isthmus - (\S+) - (CEF:0\|.*)\Z", re.S)


def _alert(message: str = "wrote 9999 to register 8 | a=b \\ c\nnext",
           name: str = "Setpoint | outside") -> Alert:
    return Alert(1_764_000_000_123_456_789, "ISTH-BL-008", name, Severity.HIGH, message,
                 (technique("T0836"), technique("T0855")), "10.0.0.9", "10.0.0.5", "modbus",
                 FlowKey("10.0.0.9", 50000, "10.0.0.5", 502), ["modbus write ..."], 1,
                 {"value": 9999})


def _split_unescaped(text: str, sep: str, limit: int) -> list[str]:
    parts: list[str] = []
    current, i = "", 0
    while i < len(text):
        if text[i] == "\\" and i + 1 < len(text):
            current += text[i:i + 2]
            i += 2
            continue
        if text[i] == sep and len(parts) < limit:
            parts.append(current)
            current = ""
        else:
            current += text[i]
        i += 1
    return [*parts, current]


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "r": "\r"}.get(m.group(1), m.group(1)), text)


def parse_cef(line: str) -> tuple[list[str], dict[str, str]]:
    """A deliberately plain CEF reader: header fields and the extension's key=value pairs
    (a key starts after an unescaped space and ends at the first unescaped '=')."""
    fields = _split_unescaped(line, "|", 7)
    header, extension = [_unescape(f) for f in fields[:7]], fields[7]
    pairs: dict[str, str] = {}
    for match in re.finditer(r"(\w+)=((?:\\.|[^\\])*?)(?= \w+=|\Z)", extension):
        pairs[match.group(1)] = _unescape(match.group(2))
    return header, pairs


def test_cef_line_escapes_header_and_extension() -> None:
    header, ext = parse_cef(cef_line(_alert(), version="1.2"))
    assert header == ["CEF:0", "Isthmus", "monitor", "1.2", "ISTH-BL-008",
                      "Setpoint | outside", "8"]
    assert ext["msg"] == "wrote 9999 to register 8 | a=b \\ c\nnext"
    assert ext["src"] == "10.0.0.9" and ext["dst"] == "10.0.0.5" and ext["app"] == "modbus"
    assert ext["cs1"] == "T0836,T0855,T1692.001"
    assert ext["cs1Label"] == "attackTechniqueIds"
    assert ext["rt"] == "1764000000123"


@given(st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=40))
def test_cef_extension_value_survives_escaping(text: str) -> None:
    _, ext = parse_cef(cef_line(_alert(message=text), version="1"))
    assert ext.get("msg", "") == text
    assert "\n" not in escape_extension(text)


def test_cef_over_udp_reaches_a_real_server() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as server:
        server.bind(("127.0.0.1", 0))
        server.settimeout(5)
        sender = CefSender.parse(f"127.0.0.1:{server.getsockname()[1]}")
        sender.send(_alert())
        sender.close()
        data, _ = server.recvfrom(65535)
    match = _SYSLOG.match(data.decode())
    assert match is not None
    pri, stamp, _host, msgid, cef = match.groups()
    assert int(pri) == 20 * 8 + 3 and msgid == "ISTH-BL-008"
    assert stamp == "2025-11-24T16:00:00.123456Z"
    assert parse_cef(cef)[0][4] == "ISTH-BL-008"


def test_cef_over_tcp_is_newline_framed() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        sender = CefSender.parse(f"127.0.0.1:{listener.getsockname()[1]}", tcp=True)
        connection, _ = listener.accept()
        for i in range(3):
            sender.send(_alert(message=f"alert {i}\nsecond line"))
        sender.close()
        connection.settimeout(5)
        received = b""
        while chunk := connection.recv(65536):
            received += chunk
        connection.close()
    lines = received.decode().split("\n")
    assert lines[-1] == "" and len(lines) == 4
    messages = [parse_cef(_SYSLOG.match(line).groups()[4])[1]["msg"]     # type: ignore[union-attr]
                for line in lines[:3]]
    assert messages == [f"alert {i}\nsecond line" for i in range(3)]


def test_syslog_line_has_no_raw_newline() -> None:
    assert "\n" not in syslog_line(_alert(), hostname="tap-1")


def _read_zeek(path: Path) -> tuple[dict[str, str], list[dict[str, str]]]:
    meta: dict[str, str] = {}
    rows = []
    lines = path.read_text().splitlines()
    assert lines[0] == "#separator \\x09"
    for line in lines[1:]:
        if line.startswith("#"):
            key, _, value = line[1:].partition("\t")
            meta[key] = value
        else:
            rows.append(dict(zip(meta["fields"].split("\t"), line.split("\t"), strict=True)))
    assert len(meta["fields"].split("\t")) == len(meta["types"].split("\t"))
    return meta, rows


def test_zeek_logs_parse_back(tmp_path: Path) -> None:
    scenario = benign(0, 5)
    scenario.exchange(6, umas(0x41), client=EWS)
    logs = ZeekLogs(tmp_path / "zeek")
    detector = Detector()
    from isthmus.security import Monitor
    monitor = Monitor(sink=logs.write, detector=detector)
    monitor.read(scenario.write(tmp_path / "c.pcap"))
    monitor.finish()
    logs.close()
    meta, modbus = _read_zeek(tmp_path / "zeek" / "modbus.log")
    assert meta["path"] == "modbus" and "close" in meta
    assert meta["fields"] == ("ts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\ttid\t"
                              "unit\tfunc\tpdu_type\texception")
    assert {r["func"] for r in modbus} >= {"READ_HOLDING_REGISTERS", "UMAS"}
    assert {r["pdu_type"] for r in modbus} == {"REQ", "RESP"}
    assert all(r["id.resp_h"] == PLC.ip and r["id.resp_p"] == "502" for r in modbus)
    _, detailed = _read_zeek(tmp_path / "zeek" / "modbus_detailed.log")
    assert detailed[0]["request_response"] == "REQUEST" and detailed[0]["address"] == "0"
    assert detailed[1]["values"] == ",".join(["0"] * 10)
    _, conns = _read_zeek(tmp_path / "zeek" / "conn.log")
    uids = {r["uid"] for r in modbus}
    assert {r["uid"] for r in conns} == uids and len(uids) == 2
    assert all(r["service"] == "modbus" and r["proto"] == "tcp" for r in conns)
    _, notices = _read_zeek(tmp_path / "zeek" / "notice.log")
    assert [n["note"] for n in notices] == ["Isthmus::ISTH_OP_003"]
    assert notices[0]["uid"] in uids and notices[0]["src"] == EWS.ip
    assert notices[0]["sub"] == "T0858 Change Operating Mode; T0816 Device Restart/Shutdown"


def test_ecs_alert_document(tmp_path: Path) -> None:
    doc = to_ecs(_alert())
    assert doc["event"]["kind"] == "alert"
    assert doc["rule"] == {"id": "ISTH-BL-008", "name": "Setpoint | outside"}
    assert doc["threat"]["framework"] == "MITRE ATT&CK for ICS"
    assert doc["threat"]["technique"]["id"] == ["T0836", "T0855", "T1692.001"]
    assert doc["threat"]["technique"]["name"][2] == "Unauthorized Message: Command Message"
    assert doc["attack"]["version"] == "19"
    assert doc["source"]["ip"] == "10.0.0.9" and doc["network"]["protocol"] == "modbus"


def test_alerts_flow_through_the_monitor_sink(tmp_path: Path) -> None:
    scenario = benign(0, 5)
    scenario.exchange(6, umas(0x40), client=EWS)
    alerts, events = run(scenario.write(tmp_path / "c.pcap"), Detector())
    assert [a.rule_id for a in alerts] == ["ISTH-OP-004"]
    position = events.index(alerts[0])
    request = events[position - 1]
    assert isinstance(request, ProtocolEvent)
    assert "start_plc" in request.summary()                    # right after its request
