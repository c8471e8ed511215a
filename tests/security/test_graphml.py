"""The communication map as GraphML: it parses, and its nodes and edges are the map's."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from click.testing import CliRunner

from isthmus.cli.monitor import monitor_command
from isthmus.security.flows import CommunicationMap
from isthmus.security.inventory import Inventory
from isthmus.security.monitor import Monitor
from tests.security.golden_cases import all_functions
from tests.security.traffic import write_pcap

NS = {"g": "http://graphml.graphdrawing.org/xmlns"}


def _data(element: ET.Element) -> dict[str, str]:
    return {d.attrib["key"]: d.text or "" for d in element.findall("g:data", NS)}


def _graph(tmp_path: Path) -> tuple[Monitor, ET.Element]:
    linktype, frames = all_functions()
    monitor = Monitor()
    monitor.read(write_pcap(tmp_path / "plant.pcap", frames, linktype=linktype))
    monitor.finish()
    root = ET.fromstring(monitor.comms.to_graphml(monitor.inventory))
    graph = root.find("g:graph", NS)
    assert graph is not None and graph.attrib["edgedefault"] == "directed"
    return monitor, graph


def test_nodes_are_the_hosts_with_their_roles(tmp_path: Path) -> None:
    _, graph = _graph(tmp_path)
    nodes = {n.attrib["id"]: _data(n) for n in graph.findall("g:node", NS)}
    assert {ip: d["role"] for ip, d in nodes.items()} == {
        "10.10.0.1": "plc", "10.10.0.2": "hmi", "10.10.0.3": "ews"}
    assert nodes["10.10.0.1"]["identity"].startswith("Acme Automation AC-800")


def test_edges_are_client_server_protocol_with_summed_counts(tmp_path: Path) -> None:
    monitor, graph = _graph(tmp_path)
    edges = {(e.attrib["source"], e.attrib["target"], _data(e)["protocol"]): _data(e)
             for e in graph.findall("g:edge", NS)}
    expected: dict[tuple[str, str, str], int] = {}
    for link in monitor.comms.links.values():
        key = (link.client, link.server, link.protocol)
        expected[key] = expected.get(key, 0) + link.requests
    assert set(edges) == set(expected)
    for key, requests in expected.items():
        assert int(edges[key]["requests"]) == requests
    hmi = edges[("10.10.0.2", "10.10.0.1", "modbus")]
    assert set(hmi["functions"].split(", ")) == {
        "read_coils", "read_discrete_inputs", "read_holding_registers", "read_input_registers"}
    assert int(hmi["first_seen"]) <= int(hmi["last_seen"])


def test_markup_in_names_is_escaped() -> None:
    comms = CommunicationMap()
    comms.link("10.0.0.1", "10.0.0.2", "modbus", "<script>&", 1)
    inventory = Inventory()
    inventory.saw("10.0.0.2", 1).identity["vendor"] = 'A & B "<PLC>"'
    root = ET.fromstring(comms.to_graphml(inventory))
    edge = root.find("g:graph/g:edge", NS)
    assert edge is not None and _data(edge)["functions"] == "<script>&"
    node = root.find("g:graph/g:node[@id='10.0.0.2']", NS)
    assert node is not None and _data(node)["identity"] == 'A & B "<PLC>"'


def test_cli_writes_the_graphml_file(tmp_path: Path) -> None:
    linktype, frames = all_functions()
    pcap = write_pcap(tmp_path / "plant.pcap", frames, linktype=linktype)
    out = tmp_path / "map.graphml"
    result = CliRunner().invoke(monitor_command, ["--pcap", str(pcap), "--graphml", str(out)])
    assert result.exit_code == 0, result.output
    assert len(ET.parse(out).getroot().findall("g:graph/g:edge", NS)) == 2
