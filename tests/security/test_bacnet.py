"""The BACnet/IP dissector: Who-Is/I-Am with the device's identity, read/write-property
with object, property and value, reinitialize-device, device communication control,
errors and rejects, and malformed datagrams."""

from __future__ import annotations

from isthmus.security.dissectors.bacnet import BacnetDissector
from isthmus.security.dissectors.message_event import MessageEvent
from isthmus.security.events import Anomaly, FlowKey
from tests.security.samples import (
    BACNET_ERROR,
    BACNET_REJECT,
    DCC,
    I_AM,
    READ_PROPERTY,
    READ_PROPERTY_ACK,
    READ_VENDOR_ACK,
    REINITIALIZE,
    WHO_IS,
    WRITE_PROPERTY,
    bvlc,
)

FLOW = FlowKey("10.30.0.5", 47808, "10.30.0.9", 47808, "udp")
BACNET = BacnetDissector()


def one(payload: bytes) -> MessageEvent:
    (event,) = BACNET.parse_datagram(payload, FLOW, 1)
    assert isinstance(event, MessageEvent), event
    return event


def test_who_is_and_i_am() -> None:
    who, iam = one(WHO_IS), one(I_AM)
    assert (who.function, who.operation, who.direction) == ("who_is", "identify", "request")
    assert (iam.function, iam.direction, iam.address) == ("i_am", "response", "device:1201")
    assert iam.device_identity() == {"device_instance": "1201", "vendor_id": "15"}


def test_read_property_names_object_and_property_and_the_answer_its_value() -> None:
    request, answer = one(READ_PROPERTY), one(READ_PROPERTY_ACK)
    assert (request.detail["object"], request.detail["property"]) == ("analog_input:3",
                                                                      "present_value")
    assert (answer.direction, answer.values) == ("response", [22.5])


def test_a_device_vendor_name_answer_is_an_identity() -> None:
    assert one(READ_VENDOR_ACK).device_identity() == {"vendor": "Acme BMS"}


def test_write_property_reports_the_written_value() -> None:
    event = one(WRITE_PROPERTY)
    assert (event.function, event.operation, event.address, event.values) == (
        "write_property", "write", "analog_output:2", [50.0])


def test_reinitialize_is_a_restart_and_dcc_a_control() -> None:
    restart, dcc = one(REINITIALIZE), one(DCC)
    assert (restart.operation, restart.detail["state"], restart.detail["password_present"]
            ) == ("restart", "coldstart", True)
    assert (dcc.operation, dcc.detail["enable_disable"], dcc.detail["duration_min"]) == (
        "control", "disable", 60)


def test_errors_and_rejects_are_answers() -> None:
    error, reject = one(BACNET_ERROR), one(BACNET_REJECT)
    assert (error.function, error.detail["pdu_type"], error.detail["error_class"]) == (
        "write_property", "error", 2)
    assert (reject.function, reject.detail["reason"]) == ("reject", 4)


def test_a_length_mismatch_is_an_anomaly() -> None:
    (problem,) = BACNET.parse_datagram(I_AM + b"\x00", FLOW, 1)
    assert isinstance(problem, Anomaly) and problem.reason == "bad-length"


def test_a_truncated_apdu_is_an_anomaly_not_an_exception() -> None:
    (problem,) = BACNET.parse_datagram(bvlc(b"\x01\x04\x02\x44"), FLOW, 1)
    assert isinstance(problem, Anomaly) and problem.reason == "truncated"


def test_match_needs_bvlc_type_function_and_length() -> None:
    assert BACNET.match_datagram(WHO_IS)
    assert not BACNET.match_datagram(b"\x82" + WHO_IS[1:])
    assert not BACNET.match_datagram(WHO_IS + b"\x00")
