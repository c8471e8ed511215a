"""The OPC UA binary dissector: HEL/ACK, secure channel policy and mode, service names by
encoding id, chunked messages, encrypted bodies, errors, the server certificate as device
identity, and real traffic between an asyncua client and server captured on loopback."""

from __future__ import annotations

import asyncio
import datetime
import socket
import struct
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from isthmus.security.capture import LINKTYPE_ETHERNET
from isthmus.security.dissectors.opcua import SERVICES
from tests.security.samples import (
    OPCUA_SESSION,
    ua_error,
    ua_hello,
    ua_message,
    ua_open,
)
from tests.security.sessions import (
    PortCapture,
    anomalies,
    captured,
    dialogue,
    events,
)
from tests.security.traffic import monitor, write_pcap

BASIC256 = "http://opcfoundation.org/UA/SecurityPolicy#Basic256Sha256"


def test_a_session_names_each_service_and_its_operation() -> None:
    out = events(dialogue("opcua", OPCUA_SESSION))
    assert [(e.function, e.operation) for e in out if e.direction == "request"] == [
        ("hello", "session"), ("open_secure_channel", "session"),
        ("create_session", "session"), ("read", "read"), ("write", "write"),
        ("call", "call"), ("browse", "browse"), ("create_subscription", "subscribe"),
        ("publish", "subscribe"), ("close_secure_channel", "session")]


def test_hello_reports_endpoint_and_buffer_sizes() -> None:
    (hello,) = events(dialogue("opcua", [(True, ua_hello("opc.tcp://10.1.1.1:4840/x"))]))
    assert hello.detail["endpoint_url"] == "opc.tcp://10.1.1.1:4840/x"
    assert hello.detail["receive_buffer_size"] == 65536


def test_open_reports_policy_and_mode() -> None:
    (opn,) = events(dialogue("opcua", [(True, ua_open())]))
    assert opn.detail["security_policy_uri"].endswith("#None")
    assert opn.detail["security_mode"] == "none"


def test_a_message_in_two_chunks_is_one_event_with_its_total_length() -> None:
    first = ua_message(634, 9, b"a" * 100, chunk=b"C")
    last = ua_message(634, 9, b"b" * 50)
    (event,) = events(dialogue("opcua", [(False, first), (False, last)]))
    assert (event.function, event.direction, event.detail["chunks"]) == ("read", "response", 2)
    assert event.length == len(first) + len(last)


def test_an_aborted_chunk_sequence_is_reported() -> None:
    out = events(dialogue("opcua", [(True, ua_message(673, 3, chunk=b"C")),
                                    (True, ua_message(673, 3, chunk=b"A"))]))
    assert out[0].function == "write" and out[0].detail["aborted"] is True


def test_signed_and_encrypted_bodies_are_reported_as_encrypted() -> None:
    out = events(dialogue("opcua", [(True, ua_open(policy=BASIC256)),
                                    (True, ua_message(631, 2))]))
    assert (out[1].function, out[1].operation, out[1].detail["encrypted"]) == (
        "encrypted", "other", True)


def test_an_error_message_carries_its_status_and_reason() -> None:
    (err,) = events(dialogue("opcua", [(False, ua_error(0x80AB0000, "too large"))]))
    assert (err.function, err.detail["status_code"], err.detail["reason"]) == (
        "error", "0x80ab0000", "too large")


def test_service_table_pairs_requests_and_responses() -> None:
    assert SERVICES[631] == ("read", "read", False) and SERVICES[634] == ("read", "read", True)
    assert SERVICES[428][0] == SERVICES[431][0] == "get_endpoints"
    assert SERVICES[12209] == ("find_servers_on_network", "browse", True)


def test_a_bad_message_size_is_an_anomaly_and_parsing_resumes() -> None:
    bad = b"MSGF" + struct.pack("<I", 3)
    out = dialogue("opcua", [(True, ua_hello()), (True, bad), (True, ua_message(631, 2)),
                             (True, ua_message(631, 3))])
    assert [a.reason for a in anomalies(out)] == ["bad-length"]
    assert anomalies(out)[0].offset == len(ua_hello()) + 4        # its size field
    assert [e.function for e in out if not hasattr(e, "layer")][-1] == "read"


def _certificate() -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Line 1 PLC OPC UA Server"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Acme Automation")])
    now = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(0x1234)
            .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=365))
            .add_extension(x509.SubjectAlternativeName(
                [x509.UniformResourceIdentifier("urn:acme:plc1")]), critical=False)
            .sign(key, hashes.SHA256()))
    return cert.public_bytes(Encoding.DER)


def test_the_server_certificate_identifies_the_device_in_the_inventory(
        tmp_path: Path) -> None:
    messages = [(True, ua_hello()), (False, ua_open(response=True, certificate=_certificate(),
                                                    policy=BASIC256))]
    _, summary = captured(tmp_path, messages, port=4840)
    server = next(h for h in summary.hosts if h["ip"] == "10.20.0.1")
    assert server["identity"] == {"product": "Line 1 PLC OPC UA Server",
                                  "vendor": "Acme Automation",
                                  "application_uri": "urn:acme:plc1", "serial": "1234"}


def test_a_garbage_certificate_is_reported_not_raised() -> None:
    (opn,) = events(dialogue("opcua", [(False, ua_open(response=True, certificate=b"\x30\x03"
                                                       b"abc", policy=BASIC256))]))
    assert "certificate_error" in (opn.device_identity() or {})


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def test_real_asyncua_traffic_is_dissected(tmp_path: Path) -> None:
    asyncua = pytest.importorskip("asyncua")
    port = _free_port()
    url = f"opc.tcp://127.0.0.1:{port}/isthmus/"
    server = asyncua.Server()
    await server.init()
    server.set_endpoint(url)
    idx = await server.register_namespace("urn:isthmus:s2")
    line = await server.nodes.objects.add_object(idx, "Line")
    speed = await line.add_variable(idx, "Speed", 1.5)
    await speed.set_writable()
    with PortCapture(port) as capture:
        async with server, asyncua.Client(url) as client:
            node = client.get_node(speed.nodeid)
            await node.read_value()
            await node.write_value(2.5)
            await client.nodes.objects.get_children()
        await asyncio.sleep(0.3)
    path = write_pcap(tmp_path / "opcua.pcap", capture.frames, linktype=LINKTYPE_ETHERNET)
    out, _ = monitor(path)
    seen = {(e.function, e.direction) for e in out if getattr(e, "protocol", "") == "opcua"}
    assert {("hello", "request"), ("acknowledge", "response"),
            ("open_secure_channel", "request"), ("create_session", "request"),
            ("activate_session", "request"), ("read", "request"), ("read", "response"),
            ("write", "request"), ("write", "response"), ("browse", "request"),
            ("close_session", "request")} <= seen
    assert not [e for e in out if getattr(e, "layer", "") == "opcua"]
