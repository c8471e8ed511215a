"""Well-formed messages of each protocol dissected beside Modbus, built by hand from the
specifications: the seeds of the unit tests, golden captures and the fuzz target."""

from __future__ import annotations

import struct

# ---- MQTT ------------------------------------------------------------------------------

def mqtt(kind: int, flags: int, body: bytes) -> bytes:
    size, header = len(body), bytearray([kind << 4 | flags])
    while True:
        byte, size = size & 0x7F, size >> 7
        header.append(byte | (0x80 if size else 0))
        if not size:
            return bytes(header) + body


def mqtt_str(text: str) -> bytes:
    raw = text.encode()
    return struct.pack(">H", len(raw)) + raw


def mqtt_connect(client_id: str = "hmi-1", *, level: int = 4, user: bool = True,
                 will: str | None = "plant/status") -> bytes:
    flags = 0x02 | (0x80 | 0x40 if user else 0) | (0x04 | 0x08 | 0x20 if will else 0)
    props = b"\x00" if level >= 5 else b""
    body = mqtt_str("MQTT") + bytes([level, flags]) + struct.pack(">H", 60) + props
    body += mqtt_str(client_id)
    if will:
        body += (b"\x00" if level >= 5 else b"") + mqtt_str(will) + mqtt_str("offline")
    if user:
        body += mqtt_str("operator") + mqtt_str("secret")
    return mqtt(1, 0, body)


def mqtt_publish(topic: str, payload: bytes, *, qos: int = 0, retain: bool = False,
                 packet_id: int = 1, level: int = 4) -> bytes:
    body = mqtt_str(topic) + (struct.pack(">H", packet_id) if qos else b"")
    body += (b"\x00" if level >= 5 else b"") + payload
    return mqtt(3, qos << 1 | int(retain), body)


def mqtt_subscribe(*filters: str, packet_id: int = 2) -> bytes:
    body = struct.pack(">H", packet_id) + b"".join(mqtt_str(f) + b"\x01" for f in filters)
    return mqtt(8, 2, body)


MQTT_SESSION: list[tuple[bool, bytes]] = [
    (True, mqtt_connect()), (False, mqtt(2, 0, b"\x00\x00")),
    (True, mqtt_subscribe("plant/+/temperature", "plant/alarms/#")),
    (False, mqtt(9, 0, b"\x00\x02\x01\x01")),
    (True, mqtt_publish("plant/line1/temperature", b"21.5", qos=1, retain=True)),
    (False, mqtt(4, 0, b"\x00\x01")),
    (True, mqtt(10, 2, b"\x00\x03" + mqtt_str("plant/alarms/#"))),
    (True, mqtt(12, 0, b"")), (False, mqtt(13, 0, b"")), (True, mqtt(14, 0, b"")),
]


# ---- OPC UA ----------------------------------------------------------------------------

POLICY_NONE = "http://opcfoundation.org/UA/SecurityPolicy#None"


def ua_string(text: str | None) -> bytes:
    if text is None:
        return struct.pack("<i", -1)
    raw = text.encode()
    return struct.pack("<i", len(raw)) + raw


def uacp(kind: bytes, body: bytes, chunk: bytes = b"F") -> bytes:
    return kind + chunk + struct.pack("<I", 8 + len(body)) + body


def ua_hello(url: str = "opc.tcp://plc.example:4840") -> bytes:
    return uacp(b"HEL", struct.pack("<5I", 0, 65536, 65536, 0, 0) + ua_string(url))


def ua_ack() -> bytes:
    return uacp(b"ACK", struct.pack("<5I", 0, 65536, 65536, 0, 0))


def _request_header() -> bytes:
    # null auth token, timestamp, handle, diagnostics, audit id, timeout, no extension
    return b"\x00\x00" + bytes(8) + struct.pack("<II", 1, 0) + ua_string(None) + \
        struct.pack("<I", 1000) + b"\x00\x00\x00"


def ua_open(*, response: bool = False, certificate: bytes | None = None,
            policy: str = POLICY_NONE, mode: int = 1) -> bytes:
    header = struct.pack("<I", 0 if not response else 7) + ua_string(policy)
    header += (struct.pack("<i", len(certificate)) + certificate if certificate
               else struct.pack("<i", -1)) + struct.pack("<i", -1)
    header += struct.pack("<II", 1, 1)
    if response:
        body = b"\x01\x00" + struct.pack("<H", 449) + bytes(20)
    else:
        body = b"\x01\x00" + struct.pack("<H", 446) + _request_header()
        body += struct.pack("<III", 0, 0, mode) + ua_string(None) + struct.pack("<I", 3600000)
    return uacp(b"OPN", header + body)


def ua_message(service: int, request_id: int, body: bytes = b"",
               chunk: bytes = b"F", node: bytes | None = None) -> bytes:
    type_id = node if node is not None else b"\x01\x00" + struct.pack("<H", service)
    return uacp(b"MSG", struct.pack("<IIII", 7, 1, request_id + 1, request_id) + type_id
                + body, chunk)


def ua_error(code: int = 0x80010000, reason: str = "bad") -> bytes:
    return uacp(b"ERR", struct.pack("<I", code) + ua_string(reason))


OPCUA_SESSION: list[tuple[bool, bytes]] = [
    (True, ua_hello()), (False, ua_ack()), (True, ua_open()), (False, ua_open(response=True)),
    (True, ua_message(461, 2, _request_header())), (False, ua_message(464, 2)),
    (True, ua_message(631, 3, _request_header())), (False, ua_message(634, 3)),
    (True, ua_message(673, 4)), (False, ua_message(676, 4)),
    (True, ua_message(712, 5)), (False, ua_message(715, 5)),
    (True, ua_message(527, 6)), (False, ua_message(530, 6, b"x" * 40, chunk=b"C")),
    (False, ua_message(530, 6, b"y" * 40, chunk=b"F")),
    (True, ua_message(787, 7)), (True, ua_message(826, 8)),
    (True, uacp(b"CLO", struct.pack("<IIII", 7, 1, 9, 9) + b"\x01\x00\xc4\x01")),
]


# ---- HL7 v2 / MLLP ---------------------------------------------------------------------

def mllp(*segments: str) -> bytes:
    return b"\x0b" + "\r".join(segments).encode() + b"\r\x1c\x0d"


HL7_ORU = mllp("MSH|^~\\&|INFUSION-PUMP-7|ICU-3|EHR|HOSP|20261126061500||ORU^R01|MSG0001|P|2.5",
               "PID|1||123456^^^HOSP||DOE^JANE||19700101|F",
               "OBR|1|||INFUSION", "OBX|1|NM|RATE||12.5|mL/h")
HL7_ACK = mllp("MSH|^~\\&|EHR|HOSP|INFUSION-PUMP-7|ICU-3|20261126061501||ACK^R01|ACK0001|P|2.5",
               "MSA|AA|MSG0001")
HL7_SESSION: list[tuple[bool, bytes]] = [(True, HL7_ORU), (False, HL7_ACK)]


# ---- DICOM upper layer -----------------------------------------------------------------

def dicom_item(kind: int, body: bytes) -> bytes:
    return bytes([kind, 0]) + struct.pack(">H", len(body)) + body


def dicom_pdu(kind: int, body: bytes) -> bytes:
    return bytes([kind, 0]) + struct.pack(">I", len(body)) + body


def dicom_associate(kind: int = 1, *, calling: str = "CT-SCANNER-1", called: str = "PACS",
                    version: str = "ACME_CT_5.2") -> bytes:
    body = struct.pack(">HH", 1, 0) + called.ljust(16).encode() + calling.ljust(16).encode()
    body += bytes(32) + dicom_item(0x10, b"1.2.840.10008.3.1.1.1")
    context = b"\x01\x00\x00\x00" + dicom_item(0x30, b"1.2.840.10008.1.1") + \
        dicom_item(0x40, b"1.2.840.10008.1.2")
    body += dicom_item(0x20 if kind == 1 else 0x21, context)
    user = dicom_item(0x51, struct.pack(">I", 16384)) + \
        dicom_item(0x52, b"1.2.826.0.1.3680043.9.9999") + dicom_item(0x55, version.encode())
    return dicom_pdu(kind, body + dicom_item(0x50, user))


def dicom_element(element: int, value: bytes) -> bytes:
    return struct.pack("<HHI", 0, element, len(value)) + value


def dicom_command(command: int, sop_class: bytes = b"1.2.840.10008.1.1") -> bytes:
    elements = dicom_element(0x0002, sop_class) + dicom_element(0x0100, struct.pack("<H", command))
    if command & 0x8000:
        elements += dicom_element(0x0900, b"\x00\x00")
    pdv = b"\x01\x03" + elements
    return dicom_pdu(4, struct.pack(">I", len(pdv)) + pdv)


DICOM_SESSION: list[tuple[bool, bytes]] = [
    (True, dicom_associate(1)), (False, dicom_associate(2, version="PACS_SRV_1.0")),
    (True, dicom_command(0x0030)), (False, dicom_command(0x8030)),
    (True, dicom_command(0x0001, b"1.2.840.10008.5.1.4.1.1.2")),
    (True, dicom_pdu(4, struct.pack(">I", 6) + b"\x01\x02data")),
    (False, dicom_command(0x8001)), (True, dicom_command(0x0020)),
    (True, dicom_pdu(5, bytes(4))), (False, dicom_pdu(6, bytes(4))),
]


# ---- IT protocols ----------------------------------------------------------------------

def tls_client_hello(sni: str = "historian.example", alpn: tuple[str, ...] = ("h2",)) -> bytes:
    name = sni.encode()
    sni_ext = struct.pack(">HBH", len(name) + 3, 0, len(name)) + name
    alpn_list = b"".join(bytes([len(a)]) + a.encode() for a in alpn)
    exts = struct.pack(">HH", 0, len(sni_ext)) + sni_ext
    exts += struct.pack(">HHH", 16, len(alpn_list) + 2, len(alpn_list)) + alpn_list
    exts += struct.pack(">HHB", 43, 5, 4) + b"\x03\x04\x03\x03"
    body = b"\x03\x03" + bytes(32) + b"\x00" + struct.pack(">H", 4) + b"\x13\x01\x13\x02"
    body += b"\x01\x00" + struct.pack(">H", len(exts)) + exts
    handshake = b"\x01" + len(body).to_bytes(3, "big") + body
    return b"\x16\x03\x01" + struct.pack(">H", len(handshake)) + handshake


def tls_server_hello() -> bytes:
    exts = struct.pack(">HHH", 43, 2, 0x0304)
    body = b"\x03\x03" + bytes(32) + b"\x00" + b"\x13\x01" + b"\x00"
    body += struct.pack(">H", len(exts)) + exts
    handshake = b"\x02" + len(body).to_bytes(3, "big") + body
    return b"\x16\x03\x03" + struct.pack(">H", len(handshake)) + handshake


TLS_SESSION: list[tuple[bool, bytes]] = [
    (True, tls_client_hello()), (False, tls_server_hello() + b"\x14\x03\x03\x00\x01\x01"),
    (False, b"\x17\x03\x03\x00\x05" + b"\xaa" * 5), (True, b"\x14\x03\x03\x00\x01\x01"),
    (True, b"\x17\x03\x03\x00\x04" + b"\xbb" * 4),
]
HTTP_SESSION: list[tuple[bool, bytes]] = [
    (True, b"GET /api/v1/tags?site=lyon HTTP/1.1\r\nHost: historian:8080\r\n"
           b"User-Agent: curl/8.5.0\r\n\r\n"),
    (False, b"HTTP/1.1 200 OK\r\nServer: nginx/1.24\r\nContent-Length: 11\r\n\r\n"
            b"{\"ok\":true}"),
    (True, b"POST /api/v1/write HTTP/1.1\r\nHost: historian:8080\r\nContent-Length: 4\r\n\r\n"
           b"1234"),
    (False, b"HTTP/1.1 204 No Content\r\n\r\n"),
]
SSH_SESSION: list[tuple[bool, bytes]] = [
    (False, b"SSH-2.0-OpenSSH_9.6p1 Ubuntu-3ubuntu13\r\n"),
    (True, b"SSH-2.0-PuTTY_Release_0.80\r\n"),
    (True, b"\x00\x00\x01\x0c\x0a\x14" + bytes(20)), (False, b"\x00\x00\x00\x1c" + bytes(28)),
]


def rdp_request(user: str = "operator", protocols: int = 0x0B) -> bytes:
    tpdu = b"\xe0\x00\x00\x00\x00\x00" + f"Cookie: mstshash={user}\r\n".encode()
    tpdu += struct.pack("<BBHI", 1, 0, 8, protocols)
    return b"\x03\x00" + struct.pack(">H", len(tpdu) + 5) + bytes([len(tpdu)]) + tpdu


def rdp_confirm(selected: int = 2) -> bytes:
    tpdu = b"\xd0\x00\x00\x12\x34\x00" + struct.pack("<BBHI", 2, 0, 8, selected)
    return b"\x03\x00" + struct.pack(">H", len(tpdu) + 5) + bytes([len(tpdu)]) + tpdu


RDP_SESSION: list[tuple[bool, bytes]] = [
    (True, rdp_request()), (False, rdp_confirm()), (True, tls_client_hello("ews-1")),
]


def smb2(command: int, body: bytes, *, response: bool = False, status: int = 0) -> bytes:
    header = b"\xfeSMB" + struct.pack("<HHIHHIIQIIQ16s", 64, 0, status, command, 1,
                                      int(response), 0, 1, 0, 0, 0, bytes(16))
    message = header + body
    return b"\x00" + len(message).to_bytes(3, "big") + message


def smb2_negotiate() -> bytes:
    dialects = (0x0202, 0x0210, 0x0300, 0x0302, 0x0311)
    body = struct.pack("<HHHHI16sQ", 36, len(dialects), 1, 0, 0, bytes(16), 0)
    return smb2(0, body + b"".join(struct.pack("<H", d) for d in dialects))


def smb2_tree_connect(path: str = "\\\\plc-eng\\projects") -> bytes:
    raw = path.encode("utf-16-le")
    return smb2(3, struct.pack("<HHHH", 9, 0, 64 + 8, len(raw)) + raw)


SMB_SESSION: list[tuple[bool, bytes]] = [
    (True, smb2_negotiate()),
    (False, smb2(0, struct.pack("<HHH", 65, 1, 0x0311) + bytes(58), response=True)),
    (True, smb2(1, bytes(24))), (False, smb2(1, bytes(8), response=True, status=0xC0000016)),
    (True, smb2_tree_connect()), (False, smb2(3, bytes(16), response=True)),
    (True, smb2(8, bytes(48))), (True, smb2(9, bytes(48))),
]


def dns_query(name: str = "historian.plant.local", qtype: int = 1, ident: int = 0x1234) -> bytes:
    qname = b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0"
    return struct.pack(">HHHHHH", ident, 0x0100, 1, 0, 0, 0) + qname + struct.pack(">HH", qtype, 1)


def dns_answer(name: str = "historian.plant.local", address: bytes = bytes([10, 0, 0, 5]),
               ident: int = 0x1234) -> bytes:
    query = dns_query(name, ident=ident)
    answer = b"\xc0\x0c" + struct.pack(">HHIH", 1, 1, 300, len(address)) + address
    return struct.pack(">HHHHHH", ident, 0x8180, 1, 1, 0, 0) + query[12:] + answer


DNS_TCP_SESSION: list[tuple[bool, bytes]] = [
    (True, struct.pack(">H", len(dns_query())) + dns_query()),
    (False, struct.pack(">H", len(dns_answer())) + dns_answer()),
]
VNC_SESSION: list[tuple[bool, bytes]] = [
    (False, b"RFB 003.008\n"), (True, b"RFB 003.008\n"), (False, b"\x01\x02"),
]


# ---- BACnet/IP -------------------------------------------------------------------------

def bvlc(npdu_apdu: bytes, function: int = 0x0A) -> bytes:
    return bytes([0x81, function]) + struct.pack(">H", 4 + len(npdu_apdu)) + npdu_apdu


def bacnet_object(kind: int, instance: int) -> bytes:
    return struct.pack(">I", kind << 22 | instance)


WHO_IS = bvlc(b"\x01\x20\xff\xff\x00\xff" + b"\x10\x08", function=0x0B)
I_AM = bvlc(b"\x01\x00" + b"\x10\x00" + b"\xc4" + bacnet_object(8, 1201) + b"\x22\x01\xe0"
            + b"\x91\x00" + b"\x21\x0f", function=0x0B)
READ_PROPERTY = bvlc(b"\x01\x04" + b"\x02\x44\x05\x0c" + b"\x0c" + bacnet_object(0, 3)
                     + b"\x19\x55")
READ_PROPERTY_ACK = bvlc(b"\x01\x00" + b"\x30\x05\x0c" + b"\x0c" + bacnet_object(0, 3)
                         + b"\x19\x55" + b"\x3e\x44\x41\xb4\x00\x00\x3f")
READ_VENDOR_ACK = bvlc(b"\x01\x00" + b"\x30\x06\x0c" + b"\x0c" + bacnet_object(8, 1201)
                       + b"\x19\x79" + b"\x3e\x75\x09\x00Acme BMS\x3f")
WRITE_PROPERTY = bvlc(b"\x01\x04" + b"\x02\x44\x07\x0f" + b"\x0c" + bacnet_object(1, 2)
                      + b"\x19\x55" + b"\x3e\x44\x42\x48\x00\x00\x3f" + b"\x49\x08")
REINITIALIZE = bvlc(b"\x01\x04" + b"\x02\x44\x08\x14" + b"\x09\x00" + b"\x1d\x04\x00abc")
DCC = bvlc(b"\x01\x04" + b"\x02\x44\x09\x11" + b"\x09\x3c" + b"\x19\x01")
BACNET_ERROR = bvlc(b"\x01\x00" + b"\x50\x07\x0f" + b"\x91\x02" + b"\x91\x28")
BACNET_REJECT = bvlc(b"\x01\x00" + b"\x60\x08\x04")
BACNET_DATAGRAMS: list[tuple[bool, bytes]] = [
    (True, WHO_IS), (False, I_AM), (True, READ_PROPERTY), (False, READ_PROPERTY_ACK),
    (False, READ_VENDOR_ACK), (True, WRITE_PROPERTY), (False, BACNET_ERROR),
    (True, REINITIALIZE), (True, DCC), (False, BACNET_REJECT),
]
DNS_DATAGRAMS: list[tuple[bool, bytes]] = [(True, dns_query()), (False, dns_answer())]

#: TCP protocol name → a whole conversation of (to_server, bytes)
TCP_SESSIONS: dict[str, list[tuple[bool, bytes]]] = {
    "mqtt": MQTT_SESSION, "opcua": OPCUA_SESSION, "hl7": HL7_SESSION, "dicom": DICOM_SESSION,
    "tls": TLS_SESSION, "http": HTTP_SESSION, "ssh": SSH_SESSION, "rdp": RDP_SESSION,
    "smb": SMB_SESSION, "dns": DNS_TCP_SESSION, "vnc": VNC_SESSION,
}
#: UDP protocol name → datagrams (to_server, payload)
UDP_SAMPLES: dict[str, list[tuple[bool, bytes]]] = {
    "bacnet": BACNET_DATAGRAMS, "dns": DNS_DATAGRAMS,
}
