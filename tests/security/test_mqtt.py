"""The MQTT dissector: CONNECT fields (3.1.1 and 5), PUBLISH topic/QoS/retain/payload
length, SUBSCRIBE filters, framing of the remaining length, and real traffic between
paho-mqtt and the local Mosquitto broker captured on the loopback interface."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from isthmus.security.capture import LINKTYPE_ETHERNET
from isthmus.security.dissectors.mqtt.session import frame_length
from tests.security.samples import MQTT_SESSION, mqtt, mqtt_connect, mqtt_publish
from tests.security.sessions import PortCapture, anomalies, dialogue, events, functions
from tests.security.traffic import monitor, write_pcap


def test_a_whole_session_gives_one_event_per_packet() -> None:
    assert functions(dialogue("mqtt", MQTT_SESSION)) == [
        ("connect", "request"), ("connack", "response"), ("subscribe", "request"),
        ("suback", "response"), ("publish", "request"), ("puback", "response"),
        ("unsubscribe", "request"), ("pingreq", "request"), ("pingresp", "response"),
        ("disconnect", "request")]


def test_connect_reports_client_level_credentials_and_will() -> None:
    (connect,) = events(dialogue("mqtt", [(True, mqtt_connect("plc-gw", level=5))]))
    assert connect.operation == "session"
    assert connect.detail | {"keep_alive": 0} == {
        "protocol_level": 5, "keep_alive": 0, "client_id": "plc-gw", "clean_session": True,
        "username_present": True, "password_present": True, "will_topic": "plant/status",
        "will_qos": 1, "will_retain": True}


def test_publish_reports_topic_qos_retain_and_payload_length_not_the_payload() -> None:
    (event,) = events(dialogue("mqtt", [(True, mqtt_publish("a/b", b"x" * 300, qos=2,
                                                            retain=True))]))
    assert (event.function, event.operation, event.address) == ("publish", "publish", "a/b")
    assert event.detail == {"topic": "a/b", "qos": 2, "retain": True, "dup": False,
                            "packet_id": 1, "payload_length": 300}


def test_mqtt5_properties_are_skipped_after_a_level_5_connect() -> None:
    out = dialogue("mqtt", [(True, mqtt_connect(level=5, will=None)),
                            (True, mqtt_publish("t", b"1234", level=5))])
    assert events(out)[1].detail["payload_length"] == 4


def test_publish_with_qos_3_is_an_anomaly() -> None:
    out = dialogue("mqtt", [(True, mqtt(3, 0x06, b"\x00\x01t"))])
    assert [a.reason for a in anomalies(out)] == ["bad-flags"]


def test_a_truncated_connect_is_an_anomaly_at_its_offset() -> None:
    out = dialogue("mqtt", [(True, mqtt(12, 0, b"")), (True, mqtt(1, 0, b"\x00\x04MQ"))])
    (problem,) = anomalies(out)
    assert (problem.reason, problem.offset) == ("truncated", 2 + 2 + 2)   # name bytes


@given(st.integers(0, 268_435_455))
def test_remaining_length_varint_round_trips(size: int) -> None:
    header = mqtt(3, 0, b"")[:1]
    encoded = bytearray()
    value = size
    while True:
        byte, value = value & 0x7F, value >> 7
        encoded.append(byte | (0x80 if value else 0))
        if not value:
            break
    assert frame_length(header + bytes(encoded), 0) == 1 + len(encoded) + size


def _broker_up() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 1883), timeout=0.5).close()
    except OSError:
        return False
    return True


@pytest.mark.skipif(not _broker_up(), reason="no MQTT broker on 127.0.0.1:1883")
def test_real_paho_traffic_to_mosquitto_is_dissected(tmp_path: Path) -> None:
    mqtt_client = pytest.importorskip("paho.mqtt.client")
    with PortCapture(1883) as capture:
        client = mqtt_client.Client(mqtt_client.CallbackAPIVersion.VERSION2,
                                    client_id="isthmus-s2-test")
        client.username_pw_set("operator", "secret")
        client.connect("127.0.0.1", 1883)
        client.loop_start()
        client.subscribe("isthmus/s2/#", qos=1)
        client.publish("isthmus/s2/temperature", b"21.5", qos=1).wait_for_publish(2)
        time.sleep(0.3)
        client.disconnect()
        client.loop_stop()
        time.sleep(0.3)
    path = write_pcap(tmp_path / "mqtt.pcap", capture.frames, linktype=LINKTYPE_ETHERNET)
    out, summary = monitor(path)
    seen = {(e.function, e.direction) for e in out if getattr(e, "protocol", "") == "mqtt"}
    assert {("connect", "request"), ("connack", "response"), ("subscribe", "request"),
            ("publish", "request"), ("puback", "response"),
            ("disconnect", "request")} <= seen
    connect = next(e for e in out if getattr(e, "function", "") == "connect")
    assert connect.fields()["client_id"] == "isthmus-s2-test"
    assert connect.fields()["username_present"] is True
    assert summary.streams["recognised_by_port"] >= 1
