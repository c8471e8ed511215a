"""The HL7 v2 / MLLP dissector: MSH header fields, acknowledgements, the sending
application as a medical device's identity, and no patient data in any event."""

from __future__ import annotations

import json
from pathlib import Path

from isthmus.security import to_ecs
from tests.security.samples import HL7_ACK, HL7_ORU, HL7_SESSION, mllp
from tests.security.sessions import anomalies, captured, dialogue, events


def test_a_result_message_reports_its_header() -> None:
    (oru,) = events(dialogue("hl7", [(True, HL7_ORU)]))
    assert (oru.function, oru.operation, oru.direction) == ("ORU_R01", "publish", "request")
    assert {k: oru.detail[k] for k in ("sending_application", "sending_facility",
                                       "receiving_application", "receiving_facility",
                                       "message_type", "control_id", "version")} == {
        "sending_application": "INFUSION-PUMP-7", "sending_facility": "ICU-3",
        "receiving_application": "EHR", "receiving_facility": "HOSP",
        "message_type": "ORU^R01", "control_id": "MSG0001", "version": "2.5"}


def test_an_acknowledgement_reports_its_code_and_the_acknowledged_message() -> None:
    (ack,) = events(dialogue("hl7", [(False, HL7_ACK)]))
    assert (ack.function, ack.detail["ack"], ack.detail["acknowledged_control_id"]) == (
        "ack", "accept", "MSG0001")


def test_no_patient_data_reaches_the_event() -> None:
    (oru,) = events(dialogue("hl7", [(True, HL7_ORU)]))
    text = json.dumps(to_ecs(oru)) + oru.summary()
    for secret in ("DOE", "JANE", "123456", "19700101", "12.5"):
        assert secret not in text
    assert oru.detail["segments"] == ["MSH", "PID", "OBR", "OBX"]


def test_the_sending_device_enters_the_inventory(tmp_path: Path) -> None:
    _, summary = captured(tmp_path, HL7_SESSION, port=2575)
    hosts = {h["ip"]: h for h in summary.hosts}
    assert hosts["10.20.0.2"]["identity"] == {"product": "INFUSION-PUMP-7",
                                              "facility": "ICU-3"}
    assert hosts["10.20.0.1"]["identity"]["product"] == "EHR"


def test_a_block_without_msh_is_an_anomaly() -> None:
    out = dialogue("hl7", [(True, mllp("PID|1||1")), (True, HL7_ORU)])
    assert [a.reason for a in anomalies(out)] == ["no-msh"]
    assert anomalies(out)[0].offset == 1


def test_bytes_outside_a_block_are_an_anomaly_and_the_next_block_is_read() -> None:
    out = dialogue("hl7", [(True, b"junk" + HL7_ORU)])
    assert [a.offset for a in anomalies(out)] == [0]
    assert [e.function for e in out if not hasattr(e, "layer")] == ["ORU_R01"]
