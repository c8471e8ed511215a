"""Exporting signed tree heads (checkpoint notes) to external witnesses, by URL:

    file:PATH or file:///PATH       the note written atomically to that file
    http://… or https://…           POSTed as text/plain; 2xx is success
    mqtt://HOST[:1883]/TOPIC        published retained, QoS 1 (MQTT 3.1.1), PUBACK awaited
    nats://HOST[:4222]/SUBJECT      published on the subject, confirmed by a PING/PONG

Network exports retry with exponential backoff; what still fails raises `WitnessError`
naming the URL. The MQTT and NATS publishers are the few packets those protocols need for
one message, written here so that the export needs no client library.
"""

from __future__ import annotations

import os
import secrets
import socket
import struct
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from isthmus.integrity.errors import IntegrityError

__all__ = ["WITNESS_SCHEMES", "Witness", "WitnessError", "checked_witness_url",
           "publish_checkpoint"]

WITNESS_SCHEMES = ("file", "http", "https", "mqtt", "nats")
_DEFAULT_PORTS = {"mqtt": 1883, "nats": 4222}


class WitnessError(IntegrityError):
    """A checkpoint could not be handed to a witness (bad URL, or it kept failing)."""


class _Retry(Exception):
    """A failure worth another attempt."""


@dataclass(frozen=True, slots=True)
class Witness:
    """A parsed witness URL."""

    url: str
    scheme: str
    host: str = ""
    port: int = 0
    target: str = ""  # file path, MQTT topic or NATS subject

    @classmethod
    def parse(cls, url: str) -> Witness:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in WITNESS_SCHEMES:
            raise WitnessError(f"witness {url!r}: scheme must be one of "
                               f"{', '.join(s + ':' for s in WITNESS_SCHEMES)}")
        if scheme == "file":
            path = unquote(parts.path if not parts.netloc else parts.netloc + parts.path)
            if not path:
                raise WitnessError(f"witness {url!r}: no file path")
            return cls(url, scheme, target=path)
        if not parts.hostname:
            raise WitnessError(f"witness {url!r}: no host")
        try:
            port = parts.port or _DEFAULT_PORTS.get(scheme, 0)
        except ValueError as exc:
            raise WitnessError(f"witness {url!r}: {exc}") from exc
        target = unquote(parts.path.lstrip("/"))
        bad = parts.fragment or parts.query or any(c in target for c in "+#* \t")
        if scheme in _DEFAULT_PORTS and (not target or bad or "#" in url):
            what = "topic" if scheme == "mqtt" else "subject"
            raise WitnessError(f"witness {url!r}: needs a {what} after the host, without "
                               "wildcards or spaces")
        return cls(url, scheme, parts.hostname, port, target)


def checked_witness_url(url: str) -> str:
    """`url` if it is a valid witness URL; ValueError naming the problem otherwise (for
    configuration validators)."""
    try:
        Witness.parse(url)
    except WitnessError as exc:
        raise ValueError(str(exc)) from None
    return url


def publish_checkpoint(note: str, url: str, *, attempts: int = 5, backoff_s: float = 0.2,
                       timeout_s: float = 5.0,
                       sleep: Callable[[float], None] = time.sleep) -> None:
    """Hand the checkpoint `note` to the witness at `url`, retrying network failures
    `attempts` times with exponential backoff (backoff_s, 2·backoff_s, …)."""
    witness = Witness.parse(url)
    data = note.encode("utf-8")
    if witness.scheme == "file":
        _write_file(Path(witness.target), data)
        return
    send = {"http": _post, "https": _post, "mqtt": _mqtt, "nats": _nats}[witness.scheme]
    for attempt in range(attempts):
        try:
            send(witness, data, timeout_s)
            return
        except _Retry as exc:
            if attempt == attempts - 1:
                raise WitnessError(f"witness {url}: {exc} (gave up after {attempts} "
                                   "attempts)") from exc
            sleep(backoff_s * 2**attempt)


def _write_file(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tmp.open("wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise WitnessError(f"witness file {path}: {exc}") from exc


def _post(witness: Witness, data: bytes, timeout_s: float) -> None:
    request = urllib.request.Request(witness.url, data=data, method="POST",
                                     headers={"Content-Type": "text/plain; charset=utf-8"})
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            response.read()
    except urllib.error.HTTPError as exc:
        if exc.code >= 500 or exc.code in (408, 429):
            raise _Retry(f"HTTP {exc.code} {exc.reason}") from exc
        raise WitnessError(f"witness {witness.url}: HTTP {exc.code} {exc.reason}") from exc
    except (urllib.error.URLError, OSError) as exc:
        raise _Retry(str(exc)) from exc


def _connect(witness: Witness, timeout_s: float) -> socket.socket:
    try:
        return socket.create_connection((witness.host, witness.port), timeout=timeout_s)
    except OSError as exc:
        raise _Retry(f"cannot connect to {witness.host}:{witness.port}: {exc}") from exc


def _read_exactly(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise _Retry("the server closed the connection")
        data += chunk
    return data


# --- MQTT 3.1.1 (OASIS standard, §3.1 CONNECT, §3.3 PUBLISH, §3.4 PUBACK) ---------------------
def _mqtt_packet(first: int, body: bytes) -> bytes:
    length, n = bytearray(), len(body)
    while True:  # remaining length: 7 bits per byte, high bit = more follows
        n, digit = divmod(n, 128)
        length.append(digit | (0x80 if n else 0))
        if not n:
            return bytes([first]) + bytes(length) + body


def _mqtt_string(text: str) -> bytes:
    raw = text.encode("utf-8")
    return struct.pack(">H", len(raw)) + raw


def _mqtt(witness: Witness, data: bytes, timeout_s: float) -> None:
    client_id = "isthmus-" + secrets.token_hex(6)
    connect = _mqtt_string("MQTT") + bytes([4, 0x02]) + struct.pack(">H", 30)
    packet_id = 1
    publish = _mqtt_string(witness.target) + struct.pack(">H", packet_id) + data
    try:
        with _connect(witness, timeout_s) as sock:
            sock.sendall(_mqtt_packet(0x10, connect + _mqtt_string(client_id)))
            ack = _read_exactly(sock, 4)
            if ack[0] != 0x20 or ack[3] != 0:
                raise WitnessError(f"witness {witness.url}: the broker refused the connection "
                                   f"(CONNACK code {ack[3]})")
            sock.sendall(_mqtt_packet(0x33, publish))  # PUBLISH, QoS 1, retained
            ack = _read_exactly(sock, 4)
            if ack[0] != 0x40 or struct.unpack(">H", ack[2:])[0] != packet_id:
                raise _Retry(f"unexpected reply {ack.hex()} instead of PUBACK")
            sock.sendall(b"\xe0\x00")  # DISCONNECT
    except OSError as exc:
        raise _Retry(str(exc)) from exc


# --- NATS client protocol (docs.nats.io, "Client Protocol": INFO, CONNECT, PUB, PING) ------
def _nats(witness: Witness, data: bytes, timeout_s: float) -> None:
    try:
        with _connect(witness, timeout_s) as sock, sock.makefile("rb") as replies:
            info = replies.readline()
            if not info.startswith(b"INFO "):
                raise WitnessError(f"witness {witness.url}: not a NATS server ({info[:40]!r})")
            sock.sendall(b'CONNECT {"verbose":false,"pedantic":false,"name":"isthmus-witness",'
                         b'"lang":"python","version":"1","protocol":0}\r\n'
                         + f"PUB {witness.target} {len(data)}\r\n".encode() + data
                         + b"\r\nPING\r\n")
            while (line := replies.readline()).strip() != b"PONG":
                if not line or line.startswith(b"-ERR"):
                    raise _Retry(f"the server answered {line.strip()!r}")
    except OSError as exc:
        raise _Retry(str(exc)) from exc
