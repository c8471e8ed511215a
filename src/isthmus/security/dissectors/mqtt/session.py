"""One MQTT 3.1/3.1.1/5 connection: fixed header and remaining-length framing, then
CONNECT, CONNACK, PUBLISH (and its acknowledgements), SUBSCRIBE/UNSUBSCRIBE, PING,
DISCONNECT and AUTH as events. The protocol level comes from CONNECT (3.1.1 when the
connection was picked up mid-stream)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from isthmus.security.dissectors.base import Output
from isthmus.security.dissectors.cursor import Cursor
from isthmus.security.dissectors.message_event import MessageEvent
from isthmus.security.dissectors.message_session import Malformed, MessageSession
from isthmus.security.events import FlowKey

__all__ = ["PACKETS", "MqttEvent", "MqttSession", "frame_length"]

#: packet type → (name, operation, flags the spec requires or None when they vary)
PACKETS: dict[int, tuple[str, str, int | None]] = {
    1: ("connect", "session", 0), 2: ("connack", "session", 0),
    3: ("publish", "publish", None), 4: ("puback", "publish", 0),
    5: ("pubrec", "publish", 0), 6: ("pubrel", "publish", 2), 7: ("pubcomp", "publish", 0),
    8: ("subscribe", "subscribe", 2), 9: ("suback", "subscribe", 0),
    10: ("unsubscribe", "subscribe", 2), 11: ("unsuback", "subscribe", 0),
    12: ("pingreq", "session", 0), 13: ("pingresp", "session", 0),
    14: ("disconnect", "session", 0), 15: ("auth", "session", 0),
}
_MAX_MESSAGE = 4 << 20        # larger PUBLISH messages are reported, not buffered
_MAX_FILTERS = 64             # topic filters listed per SUBSCRIBE event


@dataclass
class MqttEvent(MessageEvent):
    def summary(self) -> str:
        topic = self.detail.get("topic")
        return f"mqtt {self.function}" + (f" {topic}" if topic else "")


def frame_length(buf: bytes, pos: int) -> int | None:
    """The whole packet's length at `pos` (None: more bytes needed); `Malformed` for an
    unknown type, flags the spec forbids or a remaining length longer than 4 bytes."""
    if pos >= len(buf):
        return None
    first = buf[pos]
    info = PACKETS.get(first >> 4)
    if info is None:
        raise Malformed("bad-type", f"packet type {first >> 4} does not exist")
    if info[2] is not None and first & 0x0F != info[2]:
        raise Malformed("bad-flags", f"{info[0]} with flags {first & 0x0F:#x}")
    if info[2] is None and first & 0x06 == 0x06:
        raise Malformed("bad-flags", "publish with QoS 3")
    value, shift = 0, 0
    for i in range(1, 5):
        if pos + i >= len(buf):
            return None
        byte = buf[pos + i]
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return i + 1 + value
        shift += 7
    raise Malformed("bad-length", "remaining length longer than 4 bytes", 1)


def _string(cur: Cursor, what: str) -> str:
    return cur.text(cur.u16(what), what)


def _varint(cur: Cursor) -> int:
    value = 0
    for shift in (0, 7, 14, 21):
        byte = cur.u8("variable byte integer")
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value
    raise Malformed("bad-length", "variable byte integer longer than 4 bytes", cur.pos)


class MqttSession(MessageSession):
    protocol = "mqtt"
    event_type = MqttEvent
    max_message = _MAX_MESSAGE

    def __init__(self, to_server: FlowKey, *, midstream: bool) -> None:
        super().__init__(to_server, midstream=midstream)
        self.level = 4

    def frame(self, buf: bytes, pos: int, to_server: bool) -> int | None:
        return frame_length(buf, pos)

    def message(self, msg: bytes, to_server: bool, ts_ns: int, offset: int) -> Output:
        kind, flags = msg[0] >> 4, msg[0] & 0x0F
        name, operation, _ = PACKETS[kind]
        cur = Cursor(msg, frame_header_size(msg))
        detail: dict[str, Any] = {}
        if kind == 1:
            self._connect(cur, detail)
        elif kind == 2:
            detail["session_present"] = bool(cur.u8("acknowledge flags") & 1)
            detail["return_code"] = cur.u8("return code")
        elif kind == 3:
            self._publish(cur, flags, detail)
        elif kind in (8, 10):
            self._subscribe(cur, kind == 8, detail)
        elif kind in (4, 5, 6, 7, 9, 11):
            detail["packet_id"] = cur.u16("packet identifier")
        event = self.event(to_server, ts_ns, offset, len(msg), name, operation, detail=detail)
        if kind == 3:
            event.address = detail["topic"]
        return [event]

    def _connect(self, cur: Cursor, detail: dict[str, Any]) -> None:
        name = _string(cur, "protocol name")
        if name not in ("MQTT", "MQIsdp"):
            raise Malformed("bad-protocol-name", f"CONNECT protocol name {name!r}", 2)
        self.level = cur.u8("protocol level")
        flags = cur.u8("connect flags")
        detail["protocol_level"] = self.level
        detail["keep_alive"] = cur.u16("keep alive")
        if self.level >= 5:
            cur.take(_varint(cur), "properties")
        detail["client_id"] = _string(cur, "client identifier")
        detail["clean_session"] = bool(flags & 0x02)
        detail["username_present"] = bool(flags & 0x80)
        detail["password_present"] = bool(flags & 0x40)
        if flags & 0x04:
            if self.level >= 5:
                cur.take(_varint(cur), "will properties")
            detail["will_topic"] = _string(cur, "will topic")
            detail["will_qos"] = (flags >> 3) & 3
            detail["will_retain"] = bool(flags & 0x20)

    def _publish(self, cur: Cursor, flags: int, detail: dict[str, Any]) -> None:
        qos = (flags >> 1) & 3
        detail["topic"] = _string(cur, "topic name")
        detail["qos"] = qos
        detail["retain"] = bool(flags & 1)
        detail["dup"] = bool(flags & 8)
        if qos:
            detail["packet_id"] = cur.u16("packet identifier")
        if self.level >= 5:
            cur.take(_varint(cur), "properties")
        detail["payload_length"] = cur.left

    def _subscribe(self, cur: Cursor, subscribe: bool, detail: dict[str, Any]) -> None:
        detail["packet_id"] = cur.u16("packet identifier")
        if self.level >= 5:
            cur.take(_varint(cur), "properties")
        filters: list[str] = []
        while cur.left and len(filters) < _MAX_FILTERS:
            filters.append(_string(cur, "topic filter"))
            if subscribe:
                cur.u8("subscription options")
        if not filters:
            raise Malformed("empty", "subscribe/unsubscribe without a topic filter", cur.pos)
        detail["topic_filters"] = filters


def frame_header_size(msg: bytes) -> int:
    """The fixed header's size: type byte plus 1–4 remaining-length bytes."""
    size = 2
    while msg[size - 1] & 0x80:
        size += 1
    return size
