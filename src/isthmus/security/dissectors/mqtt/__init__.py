"""MQTT 3.1, 3.1.1 and 5 dissector: CONNECT (client id, level, credentials present, will),
PUBLISH (topic, QoS, retain, payload length), SUBSCRIBE/UNSUBSCRIBE (topic filters), the
acknowledgements, PING and DISCONNECT. Recognised by content on any port."""

from __future__ import annotations

from isthmus.security.dissectors.base import Match
from isthmus.security.dissectors.message_session import Malformed
from isthmus.security.dissectors.mqtt.session import (
    PACKETS,
    MqttEvent,
    MqttSession,
    frame_length,
)
from isthmus.security.events import FlowKey

__all__ = ["PACKETS", "MqttDissector", "MqttEvent", "MqttSession"]

_MIDSTREAM_PACKETS = 3        # chained packets needed to say "MQTT" without a CONNECT


def _chain(buf: bytes) -> int | None:
    """Whole packets chained from the start of `buf` (None when one is malformed)."""
    count = pos = 0
    while pos < len(buf):
        try:
            size = frame_length(buf, pos)
        except Malformed:
            return None
        if size is None or pos + size > len(buf):
            break
        count, pos = count + 1, pos + size
    return count


class MqttDissector:
    """MQTT; port 1883 is only a hint (8883 is TLS and is left to the TLS dissector)."""

    name = "mqtt"
    tcp_ports = frozenset({1883})

    def match(self, to_server: bytes, to_client: bytes, *, midstream: bool) -> Match:
        if not midstream:
            if len(to_server) < 10:
                return Match.MAYBE if _prefix_ok(to_server) else Match.NO
            name_len = int.from_bytes(to_server[_fixed(to_server):][:2], "big")
            start = _fixed(to_server) + 2
            ok = to_server[0] == 0x10 and to_server[start:start + name_len] in (
                b"MQTT", b"MQIsdp")
            return Match.YES if ok else Match.NO
        count = _chain(to_server)
        if count is None:
            return Match.NO
        return Match.YES if count >= _MIDSTREAM_PACKETS else Match.MAYBE

    def session(self, to_server: FlowKey, *, midstream: bool) -> MqttSession:
        return MqttSession(to_server, midstream=midstream)


def _fixed(buf: bytes) -> int:
    size = 2
    while size <= 5 and size - 1 < len(buf) and buf[size - 1] & 0x80:
        size += 1
    return size


def _prefix_ok(buf: bytes) -> bool:
    return not buf or buf[0] == 0x10
