"""The monitor counts each kind of event in a cached tally, found by the identity of the
event's flow key, and folds counts, bytes and times into the hosts and links at `finish`.
Whatever the caching, the communication map and the inventory must say what the events
say, computed here the slow, obvious way."""

from __future__ import annotations

import collections
from pathlib import Path

import pytest

from isthmus.security import Monitor, MonitorEvent, ProtocolEvent, craft_ics
from isthmus.security import monitor as monitor_module
from isthmus.security.craft import Endpoint, TcpConversation
from isthmus.security.dissectors.enip.names import COMMANDS
from tests.security.traffic import HMI, PLC, read_request, registers_response, write_pcap

OUTSTATION = Endpoint("10.10.0.9", craft_ics.DNP3_PORT, "02:00:00:00:00:09")


def _frames() -> list[bytes]:
    """Modbus polls over two connections in turn (a reconnect from a new port), a DNP3
    poll and a BACnet-free UDP datagram pair, interleaved."""
    first = TcpConversation(HMI, PLC)
    second = TcpConversation(Endpoint(HMI.ip, HMI.port + 1, HMI.mac), PLC)
    master = TcpConversation(Endpoint("10.10.0.2", 49300, HMI.mac), OUTSTATION)
    frames = [*first.handshake(), *master.handshake()]
    for tid in range(1, 7):
        frames += [first.send(True, read_request(tid, fc=3 + tid % 2)),
                   first.send(False, registers_response(tid, [tid], fc=3 + tid % 2))]
        poll = craft_ics.dnp3_request(1, craft_ics.dnp3_class_poll(), seq=tid % 16)
        frames += [master.send(True, craft_ics.dnp3_frames(poll)[0])]
    frames += [*first.close(), *second.handshake()]
    for tid in range(7, 10):
        frames += [second.send(True, read_request(tid)),
                   second.send(False, registers_response(tid, [tid, 0]))]
    enip = TcpConversation(Endpoint("10.10.0.2", 49400, HMI.mac),
                           Endpoint("10.10.0.8", craft_ics.ENIP_PORT, "02:00:00:00:00:08"))
    frames += [*enip.handshake(), enip.udp(True, craft_ics.encap(0x63, session=0)),
               enip.udp(True, craft_ics.encap(0x63, session=0))]
    assert COMMANDS[0x63][0] == "list_identity"
    return frames


def _run(path: Path) -> tuple[list[MonitorEvent], Monitor]:
    events: list[MonitorEvent] = []
    monitor = Monitor(sink=events.append)
    monitor.read(path)
    monitor.finish()
    return events, monitor


def _expected_links(events: list[MonitorEvent]) -> dict[tuple[str, str, str, str], list[int]]:
    """(client, server, protocol, function) → [requests, responses, bytes, first, last]."""
    links: dict[tuple[str, str, str, str], list[int]] = {}
    for event in events:
        if not isinstance(event, ProtocolEvent):
            continue
        request = event.direction == "request"
        flow = event.flow
        client, server = (flow.src, flow.dst) if request else (flow.dst, flow.src)
        key = (client, server, event.protocol, str(getattr(event, "function", "")))
        row = links.setdefault(key, [0, 0, 0, event.ts_ns, event.ts_ns])
        row[0 if request else 1] += 1
        row[2] += event.length
        row[3], row[4] = min(row[3], event.ts_ns), max(row[4], event.ts_ns)
    return links


def _links(monitor: Monitor) -> dict[tuple[str, str, str, str], list[int]]:
    return {key[:4]: [link.requests, link.responses, link.bytes, link.first_seen,
                      link.last_seen]
            for key, link in monitor.comms.links.items()
            if link.protocol not in ("tcp", "udp")}


def test_links_and_hosts_say_what_the_events_say(tmp_path: Path) -> None:
    events, monitor = _run(write_pcap(tmp_path / "mixed.pcap", _frames()))
    protocols = collections.Counter(e.protocol for e in events if isinstance(e, ProtocolEvent))
    assert protocols == {"modbus": 18, "dnp3": 6, "enip": 2}
    assert _links(monitor) == _expected_links(events)
    operations = collections.Counter(e.operation for e in events
                                     if isinstance(e, ProtocolEvent)
                                     and e.direction == "request" and e.flow.src == HMI.ip)
    assert monitor.inventory.hosts[HMI.ip].operations == dict(operations)
    last = max(e.ts_ns for e in events if isinstance(e, ProtocolEvent) and PLC.ip in
               (e.flow.src, e.flow.dst))
    assert monitor.inventory.hosts[PLC.ip].last_seen >= last


def test_each_udp_direction_keeps_one_flow_key(tmp_path: Path) -> None:
    events, _ = _run(write_pcap(tmp_path / "mixed.pcap", _frames()))
    enip = [e for e in events if isinstance(e, ProtocolEvent) and e.protocol == "enip"]
    assert len(enip) == 2 and enip[0].flow is enip[1].flow


def test_many_kinds_fold_the_same_as_few(tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_pcap(tmp_path / "mixed.pcap", _frames())
    events, roomy = _run(path)
    monkeypatch.setattr(monitor_module, "_MAX_TALLIES", 2)    # fold and forget constantly
    again, cramped = _run(path)
    assert again == events
    assert cramped.finish().to_dict() == roomy.finish().to_dict()
    assert _links(cramped) == _expected_links(events)
