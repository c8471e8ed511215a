"""The IT protocols at the IT/OT boundary, recognised by their first bytes on any port:
TLS, HTTP/1.x, SSH, RDP (strict against S7/ISO-on-TCP), SMB, DNS over TCP and VNC."""

from __future__ import annotations

import struct
from pathlib import Path

from isthmus.security.dissectors import Match, by_name
from tests.security.samples import (
    DNS_TCP_SESSION,
    HTTP_SESSION,
    RDP_SESSION,
    SMB_SESSION,
    SSH_SESSION,
    TLS_SESSION,
    VNC_SESSION,
    smb2,
    tls_client_hello,
)
from tests.security.sessions import anomalies, captured, dialogue, events, functions


def test_tls_client_hello_reports_sni_alpn_and_offered_versions() -> None:
    hello, server = events(dialogue("tls", TLS_SESSION))
    assert hello.detail["sni"] == "historian.example" and hello.detail["alpn"] == ["h2"]
    assert hello.detail["supported_versions"] == ["tls1.3", "tls1.2"]
    assert (server.function, server.detail["version"]) == ("server_hello", "tls1.3")


def test_tls_records_after_change_cipher_spec_give_no_events() -> None:
    out = dialogue("tls", [*TLS_SESSION, (True, b"\x16\x03\x03\x00\x04\x01\x00\x00\x00")])
    assert functions(out) == [("client_hello", "request"), ("server_hello", "response")]


def test_http_requests_report_method_host_path_and_agent() -> None:
    get, ok, post, _ = events(dialogue("http", HTTP_SESSION))
    assert (get.function, get.operation, get.address) == ("get", "read",
                                                          "/api/v1/tags?site=lyon")
    assert (get.detail["host"], get.detail["user_agent"]) == ("historian:8080", "curl/8.5.0")
    assert (ok.detail["status"], ok.device_identity()) == (200, {"software": "nginx/1.24"})
    assert (post.function, post.operation) == ("post", "write")


def test_http_bodies_are_skipped_and_chunked_bodies_stop_the_direction() -> None:
    chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nGET /\r\n"
    out = dialogue("http", [(False, chunked), (False, b"0\r\n\r\n")])
    assert functions(out) == [("response", "response")]


def test_ssh_banners_name_the_software_and_the_server_gets_an_identity() -> None:
    server, client = events(dialogue("ssh", SSH_SESSION))
    assert server.detail == {"protocol_version": "2.0", "software": "OpenSSH_9.6p1",
                             "comment": "Ubuntu-3ubuntu13"}
    assert server.device_identity() == {"software": "OpenSSH_9.6p1"}
    assert client.detail["software"] == "PuTTY_Release_0.80"


def test_rdp_reports_cookie_requested_and_selected_protocols() -> None:
    request, confirm = events(dialogue("rdp", RDP_SESSION))
    assert request.detail == {"cookie_user": "operator",
                              "requested_protocols": ["tls", "credssp", "credssp_ex"]}
    assert confirm.detail == {"selected_protocol": "credssp"}


def test_an_s7_connection_request_is_not_rdp() -> None:
    # TPKT + COTP CR with TSAP parameters (src-tsap 0x0100, dst-tsap 0x0102, TPDU size)
    cotp = b"\x11\xe0\x00\x00\x00\x01\x00\xc1\x02\x01\x00\xc2\x02\x01\x02\xc0\x01\x0a"
    tpkt = b"\x03\x00" + struct.pack(">H", 4 + len(cotp)) + cotp
    assert by_name("rdp").match(tpkt, b"", midstream=False) is Match.NO


def test_smb2_negotiate_tree_connect_and_commands() -> None:
    out = events(dialogue("smb", SMB_SESSION))
    assert out[0].detail["dialects"] == ["2.0.2", "2.1", "3.0", "3.0.2", "3.1.1"]
    assert out[1].detail["dialect"] == "3.1.1"
    assert out[3].detail["status"] == "0xc0000016"
    assert out[4].detail["path"] == "\\\\plc-eng\\projects"
    assert [(e.function, e.operation) for e in out[-2:]] == [("read", "read"),
                                                              ("write", "write")]


def test_smb1_negotiate_lists_dialects() -> None:
    header = b"\xffSMB\x72" + bytes(27)
    dialects = b"\x02NT LM 0.12\x00\x02SMB 2.002\x00"
    message = header + b"\x00" + struct.pack("<H", len(dialects)) + dialects
    (event,) = events(dialogue("smb", [(True, b"\x00" + len(message).to_bytes(3, "big")
                                        + message)]))
    assert (event.function, event.detail["dialects"]) == ("negotiate",
                                                          ["NT LM 0.12", "SMB 2.002"])


def test_an_encrypted_smb3_message_is_reported_as_such() -> None:
    message = b"\xfdSMB" + bytes(48)
    (event,) = events(dialogue("smb", [(True, b"\x00" + len(message).to_bytes(3, "big")
                                        + message)]))
    assert (event.function, event.detail["encrypted"]) == ("transform", True)


def test_smb_status_is_kept_but_a_short_header_is_an_anomaly() -> None:
    short = b"\xfeSMB" + bytes(10)
    out = dialogue("smb", [(True, b"\x00" + len(short).to_bytes(3, "big") + short),
                           (True, smb2(13, b"\x04\x00\x00\x00"))])
    assert [a.reason for a in anomalies(out)] == ["truncated"]
    assert [e.function for e in out if not hasattr(e, "layer")] == ["echo"]


def test_dns_over_tcp_reports_questions_and_answers() -> None:
    query, answer = events(dialogue("dns", DNS_TCP_SESSION))
    assert query.detail["questions"] == [{"name": "historian.plant.local", "type": "A"}]
    assert answer.detail["answers"] == [{"name": "historian.plant.local", "type": "A",
                                         "ttl": 300, "data": "10.0.0.5"}]


def test_vnc_version_handshake() -> None:
    assert functions(dialogue("vnc", VNC_SESSION)) == [("protocol_version", "response"),
                                                       ("protocol_version", "request")]


def test_a_remote_desktop_into_the_plant_is_on_the_communication_map(tmp_path: Path) -> None:
    _, summary = captured(tmp_path, RDP_SESSION, port=3389)
    assert {(link["protocol"], link["function"]) for link in summary.links} >= {
        ("rdp", "connection_request")}


def test_tls_mid_stream_is_recognised_on_application_data_without_anomalies(tmp_path: Path) -> None:
    records = [(True, b"\x17\x03\x03\x00\x03abc"), (False, b"\x17\x03\x03\x00\x02xy"),
               (True, tls_client_hello())]
    out, summary = captured(tmp_path, records, port=50443, handshake=False)
    assert summary.streams["recognised_by_content"] == 1
    assert out == []                # encrypted records (and a hello after them) say nothing
