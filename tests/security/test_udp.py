"""UDP through the monitor: datagrams dissected by port hint then content, their events
feeding the inventory and communication map, anything else left to the transport map."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from isthmus.security.craft import Endpoint, TcpConversation
from isthmus.security.datagrams import dissect_datagram
from isthmus.security.events import FlowKey
from tests.security.samples import BACNET_DATAGRAMS, I_AM, WHO_IS, dns_answer, dns_query
from tests.security.traffic import monitor, write_pcap

CONTROLLER = Endpoint("10.30.0.9", 47808, "02:00:00:00:00:09")
WORKSTATION = Endpoint("10.30.0.5", 47808, "02:00:00:00:00:05")


def _udp(tmp_path: Path, datagrams: list[tuple[bool, bytes]], client: Endpoint = WORKSTATION,
         server: Endpoint = CONTROLLER) -> tuple[list[object], dict[str, object]]:
    conv = TcpConversation(client, server)
    frames = [conv.udp(to_server, data) for to_server, data in datagrams]
    out, summary = monitor(write_pcap(tmp_path / "udp.pcap", frames))
    return list(out), summary.to_dict()


def test_bacnet_datagrams_become_events_links_and_an_identity(tmp_path: Path) -> None:
    out, summary = _udp(tmp_path, BACNET_DATAGRAMS)
    assert len([e for e in out if getattr(e, "protocol", "") == "bacnet"]) == 10
    hosts = {h["ip"]: h for h in summary["hosts"]}       # type: ignore[attr-defined]
    assert hosts["10.30.0.9"]["identity"]["device_instance"] == "1201"
    assert hosts["10.30.0.9"]["identity"]["vendor"] == "Acme BMS"
    assert "restart" in hosts["10.30.0.5"]["operations"]
    functions = {(link["protocol"], link["function"])
                 for link in summary["links"]}           # type: ignore[attr-defined]
    assert ("bacnet", "write_property") in functions


def test_bacnet_is_recognised_by_content_on_another_port(tmp_path: Path) -> None:
    out, _ = _udp(tmp_path, [(True, WHO_IS), (False, I_AM)],
                  client=Endpoint("10.30.0.5", 50000), server=Endpoint("10.30.0.9", 47809))
    assert [getattr(e, "function", None) for e in out] == ["who_is", "i_am"]


def test_dns_over_udp_names_the_query(tmp_path: Path) -> None:
    out, _ = _udp(tmp_path, [(True, dns_query("plc1.plant.local")),
                             (False, dns_answer("plc1.plant.local"))],
                  client=Endpoint("10.30.0.5", 53001), server=Endpoint("10.30.0.1", 53))
    assert [(getattr(e, "address", None), getattr(e, "direction", None)) for e in out] == [
        ("plc1.plant.local", "request"), ("plc1.plant.local", "response")]


def test_an_unknown_datagram_stays_a_transport_link(tmp_path: Path) -> None:
    out, summary = _udp(tmp_path, [(True, b"hello plant")],
                        client=Endpoint("10.30.0.5", 40000), server=Endpoint("10.30.0.9", 9000))
    assert out == []
    assert [link["function"] for link in summary["links"]] == ["port 9000"]  # type: ignore


def test_a_malformed_datagram_on_the_dns_port_is_left_alone() -> None:
    flow = FlowKey("10.0.0.1", 5000, "10.0.0.2", 53, "udp")
    assert dissect_datagram(b"\x00\x01not dns at all", flow, 1) is None


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300), st.sampled_from([53, 47808, 5353, 9000]))
def test_any_datagram_gives_events_anomalies_or_nothing(payload: bytes, port: int) -> None:
    out = dissect_datagram(payload, FlowKey("10.0.0.1", 40000, "10.0.0.2", port, "udp"), 1)
    assert out is None or isinstance(out, list)


def test_enip_list_identity_over_udp_identifies_the_adapter(tmp_path: Path) -> None:
    from tests.security.builders_enip import encap, list_identity_response

    scanner = Endpoint("10.30.0.5", 50100)
    adapter = Endpoint("10.30.0.20", 44818)
    out, summary = _udp(tmp_path, [(True, encap(0x63, session=0)),
                                   (False, list_identity_response("1756-L81E/B"))],
                        client=scanner, server=adapter)
    assert [(getattr(e, "protocol", None), getattr(e, "direction", None)) for e in out] == [
        ("enip", "request"), ("enip", "response")]
    hosts = {h["ip"]: h for h in summary["hosts"]}       # type: ignore[attr-defined]
    assert "1756-L81E/B" in hosts["10.30.0.20"]["identity"].values()
