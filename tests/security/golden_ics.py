"""Golden captures for the industrial dissectors (DNP3, IEC 104, S7, EtherNet/IP), built
frame by frame; each case names what it pins. Registered in `golden_cases.CASES`."""

from __future__ import annotations

import struct
from collections.abc import Callable

from isthmus.security.capture import LINKTYPE_ETHERNET
from isthmus.security.craft import Endpoint, TcpConversation
from tests.security import builders_dnp3 as dnp3
from tests.security import builders_enip as enip
from tests.security import builders_iec104 as iec
from tests.security import builders_s7 as s7

Case = tuple[int, list[bytes]]

SCADA = Endpoint("10.20.0.2", 50100, "02:00:00:00:01:02")
RTU = Endpoint("10.20.0.10", dnp3.DNP3_PORT, "02:00:00:00:01:10")
EWS = Endpoint("10.20.0.3", 50200, "02:00:00:00:01:03")


def dnp3_outstation() -> Case:
    """A master polls classes, gets a multi-segment response, selects then operates a
    CROB, writes the time, cold-restarts the outstation and gets an unsolicited report;
    one frame has a corrupted data CRC."""
    conv = TcpConversation(SCADA, RTU)
    frames = conv.handshake()

    def send(from_master: bool, apdu: bytes, segment: int = 249) -> None:
        for frame in dnp3.frames(apdu, from_master=from_master, segment=segment):
            frames.append(conv.send(from_master, frame))

    send(True, dnp3.request(1, dnp3.class_poll(), seq=1))
    send(False, dnp3.response(dnp3.analog_inputs(0, list(range(60))), seq=1, iin=0x0010),
         segment=64)
    send(True, dnp3.request(3, dnp3.crob(7, 0x41), seq=2))
    send(False, dnp3.response(dnp3.crob(7, 0x41), seq=2))
    send(True, dnp3.request(4, dnp3.crob(7, 0x41), seq=3))
    send(True, dnp3.request(2, dnp3.time_and_date(1_764_000_000_000), seq=4))
    broken = bytearray(dnp3.frames(dnp3.request(21, seq=5))[0])
    broken[-1] ^= 0x5A
    frames.append(conv.send(True, bytes(broken)))
    send(True, dnp3.request(13, seq=6))
    send(False, dnp3.response(dnp3.analog_inputs(3, [99]), seq=7, fc=130, unsolicited=True))
    return LINKTYPE_ETHERNET, frames


def iec104_substation() -> Case:
    """STARTDT, general interrogation with confirmation and data, a single command and a
    float set-point, clock sync, reset process, spontaneous data, S-frames and TESTFR, on
    a non-standard port (recognised by content), then a frame with a bad APCI."""
    conv = TcpConversation(SCADA, Endpoint("10.20.0.11", 12404, "02:00:00:00:01:11"))
    frames = conv.handshake()
    for to_server, apdu in [
            (True, iec.u_frame(iec.STARTDT_ACT)), (False, iec.u_frame(iec.STARTDT_CON)),
            (True, iec.interrogation()), (False, iec.interrogation(cause=7)),
            (False, iec.measured_float(700, 49.98, cause=20, send_seq=1)),
            (False, iec.interrogation(cause=10, send_seq=2)), (True, iec.s_frame(3)),
            (True, iec.single_command(1001, True, select=True, send_seq=1)),
            (False, iec.single_command(1001, True, select=True, cause=7, send_seq=3)),
            (True, iec.single_command(1001, True, send_seq=2)),
            (True, iec.setpoint_float(2001, 63.5, send_seq=3)),
            (True, iec.i_frame(103, 6, 0, iec.cp56(), send_seq=4)),
            (True, iec.i_frame(105, 6, 0, b"\x01", send_seq=5)),
            (False, iec.measured_float(700, 50.02, send_seq=4)),
            (True, iec.u_frame(iec.TESTFR_ACT) + b"\x68\xff\x00\x00\x00\x00"),
            (False, iec.u_frame(iec.TESTFR_CON))]:
        frames.append(conv.send(to_server, apdu))
    return LINKTYPE_ETHERNET, frames


def s7_download_and_stop() -> Case:
    """An engineering workstation connects (COTP CR/CC), sets up S7 communication, reads
    the module identification SZL, reads and writes DB items, downloads a block (request
    download, download block split over three COTP TPDUs, download ended, PI _INSE),
    uploads one, stops the CPU and starts it again; then an S7comm-plus session."""
    conv = TcpConversation(EWS, Endpoint("10.20.0.12", s7.S7_PORT, "02:00:00:00:01:12"))
    frames = conv.handshake()
    exchanges: list[tuple[bool, bytes]] = [
        (True, s7.cotp_cr()), (False, s7.cotp_cr(confirm=True)),
        (True, s7.dt(s7.job(s7.setup_communication()))),
        (False, s7.dt(s7.ack_data(s7.setup_communication(240)))),
        (True, s7.dt(s7.szl_request(0x0011, ref=2))),
        (False, s7.dt(s7.szl_module_identification("6ES7 315-2EH14-0AB0", (3, 2, 8),
                                                   ref=2))),
        (True, s7.dt(s7.job(s7.read_var(s7.any_item(0x84, 10, 0, 4)), ref=3))),
        (False, s7.dt(s7.ack_data(b"\x04\x01", s7.data_item(b"\x00\x00\x01\xf4"), ref=3))),
        (True, s7.dt(s7.job(s7.write_var(s7.any_item(0x84, 10, 2, 2)),
                            s7.data_item(b"\x03\xe8"), ref=4))),
        (False, s7.dt(s7.ack_data(b"\x05\x01", b"\xff", ref=4))),
        (True, s7.dt(s7.job(s7.download_param(0x1A, "08", 1), ref=5))),
        (True, s7.split_dt(s7.job(s7.download_param(0x1B, "08", 1), b"\x00" * 60, ref=6),
                           30)),
        (True, s7.dt(s7.job(s7.download_param(0x1C, "08", 1), ref=7))),
        (True, s7.dt(s7.job(s7.plc_control(b"_INSE", b"\x00\x010800001P"), ref=8))),
        (True, s7.dt(s7.job(s7.upload_param(0x1D), ref=9))),
        (True, s7.dt(s7.job(s7.upload_param(0x1E), ref=10))),
        (True, s7.dt(s7.job(s7.upload_param(0x1F), ref=11))),
        (True, s7.dt(s7.job(s7.plc_stop(), ref=12))),
        (False, s7.dt(s7.ack_data(b"\x29", ref=12))),
        (True, s7.dt(s7.job(s7.plc_control(b"P_PROGRAM"), ref=13))),
    ]
    for to_server, data in exchanges:
        frames.append(conv.send(to_server, data))
    frames += conv.close()
    plus = TcpConversation(Endpoint("10.20.0.4", 50300), Endpoint("10.20.0.13", 102),
                           client_isn=9_000, server_isn=19_000)
    frames += plus.handshake()
    frames += [plus.send(True, s7.cotp_cr(src_tsap=b"\x01\x00", dst_tsap=b"SIMATIC-ROOT-HMI")),
               plus.send(False, s7.cotp_cr(confirm=True)),
               plus.send(True, s7.dt(s7.s7plus(0x31, 0x04CA))),
               plus.send(False, s7.dt(s7.s7plus(0x32, 0x04CA))),
               plus.send(True, s7.dt(s7.s7plus(0x31, 0x0542, version=3, seq=2))),
               plus.send(True, s7.dt(s7.s7plus(0x31, 0x054C, version=3, seq=3)))]
    return LINKTYPE_ETHERNET, frames


def enip_logix() -> Case:
    """ListIdentity, RegisterSession, tag reads and writes (unconnected and connected),
    Get_Attributes_All on the identity object via Unconnected Send, Forward Open, a
    Multiple Service Packet, a failed Set_Attribute_Single, Stop and Reset; picked up
    mid-stream on a second connection."""
    plc = Endpoint("10.20.0.14", enip.ENIP_PORT, "02:00:00:00:01:14")
    conv = TcpConversation(EWS, plc)
    frames = conv.handshake()

    def rr(cip: bytes, n: int) -> bytes:
        return enip.send_rr(cip, context=f"ctx{n:05d}".encode())

    exchanges: list[tuple[bool, bytes]] = [
        (True, enip.encap(0x63, session=0)),
        (False, enip.list_identity_response("1756-L71/B LOGIX5571", ip=plc.ip)),
        (True, enip.register_session()), (False, enip.register_session()),
        (True, rr(enip.cip_request(0x4C, enip.symbol_path("Line1", "Speed"), b"\1\0"), 1)),
        (False, rr(enip.cip_response(0x4C, struct.pack("<Hi", 0xC4, 1450)), 1)),
        (True, rr(enip.cip_request(0x4D, enip.symbol_path("Setpoint"),
                                   enip.write_tag_data([1500])), 2)),
        (False, rr(enip.cip_response(0x4D), 2)),
        (True, rr(enip.unconnected_send(enip.cip_request(0x01, enip.logical_path(1))), 3)),
        (False, rr(enip.cip_response(0x01, enip.identity_attributes("1756-L71")), 3)),
        (True, rr(enip.forward_open(), 4)),
        (True, enip.send_unit(enip.multiple_service(
            enip.cip_request(0x4C, enip.symbol_path("A"), b"\1\0"),
            enip.cip_request(0x4D, enip.symbol_path("B"), enip.write_tag_data([7]))), seq=1)),
        (True, rr(enip.cip_request(0x10, enip.logical_path(1, 1, 7), b"\0"), 5)),
        (False, rr(enip.cip_response(0x10, status=0x0E), 5)),
        (True, rr(enip.cip_request(0x07, enip.logical_path(0x8E)), 6)),
        (True, rr(enip.cip_request(0x05, enip.logical_path(1)), 7)),
    ]
    for to_server, data in exchanges:
        frames.append(conv.send(to_server, data))
    late = TcpConversation(Endpoint("10.20.0.5", 50400), plc, client_isn=5_000)
    message = rr(enip.cip_request(0x06, enip.logical_path(0x8E)), 8)
    frames.append(late.send(True, enip.register_session()[7:] + message))
    return LINKTYPE_ETHERNET, frames


ICS_CASES: dict[str, Callable[[], Case]] = {
    "dnp3-outstation": dnp3_outstation,
    "iec104-substation": iec104_substation,
    "s7-download-and-stop": s7_download_and_stop,
    "enip-logix": enip_logix,
}
