"""OPC UA binary (UACP) dissector: hello/acknowledge, secure channels with their security
policy and certificates, service calls by name (read, write, call, browse, sessions,
subscriptions), chunked messages, errors. Recognised by content on any port."""

from __future__ import annotations

from isthmus.security.dissectors.base import Match
from isthmus.security.dissectors.message_session import Malformed
from isthmus.security.dissectors.opcua.names import SERVICES
from isthmus.security.dissectors.opcua.session import (
    MESSAGE_TYPES,
    OpcUaEvent,
    OpcUaSession,
    frame_length,
)
from isthmus.security.events import FlowKey

__all__ = ["MESSAGE_TYPES", "SERVICES", "OpcUaDissector", "OpcUaEvent", "OpcUaSession"]


_FIRST = (b"HEL", b"OPN", b"MSG")        # what a client sends first


def _starts_with_message(buf: bytes) -> Match:
    if len(buf) < 8:
        head = buf[:3]
        return Match.MAYBE if any(t.startswith(head) for t in _FIRST) else Match.NO
    try:
        size = frame_length(buf, 0)
    except Malformed:
        return Match.NO
    if buf[:3] not in _FIRST:
        return Match.NO
    return Match.YES if size is not None else Match.MAYBE


class OpcUaDissector:
    name = "opcua"
    tcp_ports = frozenset({4840})

    def match(self, to_server: bytes, to_client: bytes, *, midstream: bool) -> Match:
        if not midstream:
            return _starts_with_message(to_server)
        found = min((i for i in (to_server.find(t) for t in (b"MSGF", b"MSGC", b"OPNF"))
                     if i >= 0), default=-1)
        if found < 0:
            return Match.MAYBE if len(to_server) < 4096 else Match.NO
        return _starts_with_message(to_server[found:])

    def session(self, to_server: FlowKey, *, midstream: bool) -> OpcUaSession:
        return OpcUaSession(to_server, midstream=midstream)

