"""Golden captures for OPC UA, MQTT, HL7, DICOM, the IT protocols and UDP (BACnet/IP, DNS),
built frame by frame. Each case names what it pins."""

from __future__ import annotations

from collections.abc import Callable

from isthmus.security.capture import LINKTYPE_ETHERNET
from isthmus.security.craft import Endpoint, TcpConversation
from tests.security import samples

Case = tuple[int, list[bytes]]          # link type, frames
Messages = list[tuple[bool, bytes]]

SCADA = Endpoint("10.40.0.10", 51000, "02:00:00:00:40:10")
PLC = Endpoint("10.40.0.20", 4840, "02:00:00:00:40:20")
IT_HOST = Endpoint("192.168.1.50", 52000, "02:00:00:00:01:50")


def _session(client: Endpoint, server: Endpoint, messages: Messages, *, isn: int = 1000,
             handshake: bool = True, skip: int = 0) -> list[bytes]:
    conv = TcpConversation(client, server, client_isn=isn, server_isn=isn + 50_000)
    frames = conv.handshake() if handshake else []
    if not handshake:
        conv.next_seq[True] += 1 + skip
        conv.next_seq[False] += 1
    frames += [conv.send(to_server, data) for to_server, data in messages]
    return frames + conv.close()


def _port(endpoint: Endpoint, port: int) -> Endpoint:
    return Endpoint(endpoint.ip, port, endpoint.mac)


def plant_floor_opcua_mqtt() -> Case:
    """A SCADA server's OPC UA session with a PLC (services, chunked browse response), and
    an edge gateway publishing to a broker over MQTT on port 1883."""
    frames = _session(SCADA, PLC, samples.OPCUA_SESSION)
    gateway = Endpoint("10.40.0.30", 40100, "02:00:00:00:40:30")
    frames += _session(gateway, _port(Endpoint("10.40.0.40", 0, "02:00:00:00:40:40"), 1883),
                       samples.MQTT_SESSION, isn=5000)
    return LINKTYPE_ETHERNET, frames


def hospital_hl7_dicom() -> Case:
    """An infusion pump's HL7 result to the EHR over MLLP (port 2575) and a CT scanner's
    DICOM association, echo and store to a PACS on port 11112: both devices identified."""
    pump = Endpoint("10.50.0.7", 40007, "02:00:00:00:50:07")
    ehr = Endpoint("10.50.0.2", 2575, "02:00:00:00:50:02")
    scanner = Endpoint("10.50.0.8", 40008, "02:00:00:00:50:08")
    pacs = Endpoint("10.50.0.3", 11112, "02:00:00:00:50:03")
    frames = _session(pump, ehr, samples.HL7_SESSION)
    frames += _session(scanner, pacs, samples.DICOM_SESSION, isn=7000)
    return LINKTYPE_ETHERNET, frames


def it_boundary() -> Case:
    """An IT host reaches a controller over TLS, HTTP, SSH, RDP, SMB, DNS over TCP and VNC,
    each on its usual port."""
    frames: list[bytes] = []
    controller = Endpoint("10.40.0.20", 0, "02:00:00:00:40:20")
    for i, (name, port) in enumerate([("tls", 443), ("http", 8080), ("ssh", 22),
                                      ("rdp", 3389), ("smb", 445), ("dns", 53),
                                      ("vnc", 5900)]):
        client = _port(IT_HOST, 52000 + i)
        frames += _session(client, _port(controller, port), samples.TCP_SESSIONS[name],
                           isn=10_000 * (i + 1))
    return LINKTYPE_ETHERNET, frames


def udp_bacnet_dns() -> Case:
    """BACnet/IP: who-is/i-am, property reads (one of the vendor name), a write, an error,
    reinitialize-device, device communication control and a reject; DNS over UDP; and a
    datagram no dissector knows."""
    workstation = Endpoint("10.60.0.5", 47808, "02:00:00:00:60:05")
    controller = Endpoint("10.60.0.9", 47808, "02:00:00:00:60:09")
    bms = TcpConversation(workstation, controller)
    frames = [bms.udp(to_server, data) for to_server, data in samples.BACNET_DATAGRAMS]
    resolver = TcpConversation(_port(workstation, 53123), Endpoint("10.60.0.1", 53))
    frames += [resolver.udp(s, d) for s, d in samples.DNS_DATAGRAMS]
    other = TcpConversation(_port(workstation, 40000), _port(controller, 9000))
    frames.append(other.udp(True, b"vendor heartbeat"))
    return LINKTYPE_ETHERNET, frames


def malformed_and_midstream() -> Case:
    """OPC UA picked up mid-stream on port 48400 (no handshake, first bytes lost), an MQTT
    packet with forbidden flags, and a DICOM P-DATA PDU with a bad PDV length."""
    late = _session(SCADA, _port(PLC, 48400), [(True, b"\x00" * 5), *samples.OPCUA_SESSION[4:]],
                    handshake=False, skip=3)
    broker = Endpoint("10.40.0.40", 1883, "02:00:00:00:40:40")
    bad_mqtt = [(True, samples.mqtt_connect()), (True, samples.mqtt(3, 0x06, b"\x00\x01t")),
                (True, samples.mqtt(12, 0, b""))]
    pacs = Endpoint("10.50.0.3", 104, "02:00:00:00:50:03")
    bad_dicom = [(True, samples.dicom_associate()),
                 (True, samples.dicom_pdu(4, b"\x00\x00\x00\x01\x01")),
                 (True, samples.dicom_command(0x0030))]
    frames = late + _session(_port(SCADA, 51001), broker, bad_mqtt, isn=3000)
    frames += _session(_port(SCADA, 51002), pacs, bad_dicom, isn=4000)
    return LINKTYPE_ETHERNET, frames


BOUNDARY_CASES: dict[str, Callable[[], Case]] = {
    "plant-floor-opcua-mqtt": plant_floor_opcua_mqtt,
    "hospital-hl7-dicom": hospital_hl7_dicom,
    "it-boundary": it_boundary,
    "udp-bacnet-dns": udp_bacnet_dns,
    "malformed-and-midstream": malformed_and_midstream,
}
