"""Exporting checkpoints to witnesses: a file, a real local HTTP server (with retries), the
machine's Mosquitto (retained, read back by a subscriber) and NATS (read by a subscriber)."""

from __future__ import annotations

import http.server
import socket
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from isthmus.integrity.witness import Witness, WitnessError, publish_checkpoint

NOTE = "acme-test-gw\n6\nqbdkZ0f2c1NwmR8+3wIpy1j2lhyDgSPj+5xaxUHfgNU=\n\n— acme-test-gw AAAA\n"


class Recorder(http.server.BaseHTTPRequestHandler):
    answers: ClassVar[list[int]] = []
    bodies: ClassVar[list[bytes]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).bodies.append(body)
        code = type(self).answers.pop(0) if type(self).answers else 200
        self.send_response(code)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        """Quiet."""


@pytest.fixture
def http_witness() -> Iterator[tuple[str, type[Recorder]]]:
    handler = type("Handler", (Recorder,), {"answers": [], "bodies": []})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/witness/add-checkpoint", handler
    server.shutdown()
    server.server_close()
    thread.join()


def test_file_witness_gets_the_note(tmp_path: Path) -> None:
    target = tmp_path / "deep" / "checkpoint.txt"
    publish_checkpoint(NOTE, f"file:{target}")
    publish_checkpoint(NOTE + "x", f"file://{target}")
    assert target.read_text() == NOTE + "x"
    assert [p.name for p in target.parent.iterdir()] == ["checkpoint.txt"]


def test_http_witness_is_retried_with_backoff_until_it_accepts(
        http_witness: tuple[str, type[Recorder]]) -> None:
    url, handler = http_witness
    handler.answers[:] = [503, 502]
    waits: list[float] = []
    publish_checkpoint(NOTE, url, sleep=waits.append)
    assert handler.bodies == [NOTE.encode()] * 3
    assert waits == [0.2, 0.4]


def test_http_witness_that_refuses_the_note_is_not_retried(
        http_witness: tuple[str, type[Recorder]]) -> None:
    url, handler = http_witness
    handler.answers[:] = [400]
    with pytest.raises(WitnessError, match="HTTP 400"):
        publish_checkpoint(NOTE, url, sleep=lambda _: None)
    assert len(handler.bodies) == 1


def test_unreachable_witness_gives_up_naming_the_url() -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/"
    waits: list[float] = []
    with pytest.raises(WitnessError, match=f"{url}.*gave up after 3 attempts"):
        publish_checkpoint(NOTE, url, attempts=3, sleep=waits.append)
    assert waits == [0.2, 0.4]


@pytest.mark.parametrize(("url", "message"), [
    ("ftp://host/x", "scheme must be one of"),
    ("mqtt://127.0.0.1:1883", "needs a topic"),
    ("mqtt://127.0.0.1/isthmus/#", "needs a topic"),
    ("nats://127.0.0.1/a b", "needs a subject"),
    ("http:///nohost", "no host"),
    ("file:", "no file path"),
])
def test_bad_witness_urls_are_refused(url: str, message: str) -> None:
    with pytest.raises(WitnessError, match=message):
        Witness.parse(url)


def test_default_ports() -> None:
    assert Witness.parse("mqtt://127.0.0.1/a/b").port == 1883
    assert Witness.parse("nats://127.0.0.1/a.b").port == 4222


def test_mqtt_witness_publishes_a_retained_checkpoint() -> None:
    topic = f"isthmus-test/{uuid.uuid4().hex}/checkpoint"
    publish_checkpoint(NOTE, f"mqtt://127.0.0.1:1883/{topic}")
    got: list[tuple[bytes, bool]] = []
    done = threading.Event()

    def on_message(client: mqtt.Client, userdata: object, msg: mqtt.MQTTMessage) -> None:
        got.append((bytes(msg.payload), msg.retain))
        done.set()

    client = mqtt.Client(CallbackAPIVersion.VERSION2)
    client.on_message = on_message
    client.connect("127.0.0.1", 1883)
    client.subscribe(topic, qos=1)  # after the publish: only a retained message arrives
    client.loop_start()
    try:
        assert done.wait(10)
        first = got[0]
    finally:
        client.publish(topic, b"", qos=1, retain=True).wait_for_publish(5)  # clear it
        client.loop_stop()
        client.disconnect()
    assert first == (NOTE.encode(), True)


def test_nats_witness_publishes_to_a_subscriber() -> None:
    subject = f"isthmus.test.{uuid.uuid4().hex}.checkpoint"
    with socket.create_connection(("127.0.0.1", 4222), timeout=10) as sub, \
            sub.makefile("rb") as replies:
        assert replies.readline().startswith(b"INFO ")
        sub.sendall(f'CONNECT {{"verbose":false}}\r\nSUB {subject} 1\r\nPING\r\n'.encode())
        assert replies.readline().strip() == b"PONG"
        publish_checkpoint(NOTE, f"nats://127.0.0.1:4222/{subject}")
        header = replies.readline().split()
        assert header[:3] == [b"MSG", subject.encode(), b"1"]
        payload = replies.read(int(header[-1]) + 2)
    assert payload == NOTE.encode() + b"\r\n"
