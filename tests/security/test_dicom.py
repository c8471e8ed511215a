"""The DICOM upper-layer dissector: association fields and identity, DIMSE commands and
their operations, release, abort, reject, and malformed PDUs."""

from __future__ import annotations

import struct
from pathlib import Path

from tests.security.samples import DICOM_SESSION, dicom_associate, dicom_command, dicom_pdu
from tests.security.sessions import anomalies, captured, dialogue, events, functions


def test_a_session_gives_association_commands_and_release() -> None:
    assert functions(dialogue("dicom", DICOM_SESSION)) == [
        ("associate_rq", "request"), ("associate_ac", "response"), ("c_echo", "request"),
        ("c_echo", "response"), ("c_store", "request"), ("p_data", "request"),
        ("c_store", "response"), ("c_find", "request"), ("release_rq", "request"),
        ("release_rp", "response")]


def test_association_request_reports_titles_context_and_implementation() -> None:
    (rq,) = events(dialogue("dicom", [(True, dicom_associate())]))
    assert {k: rq.detail[k] for k in ("calling_ae", "called_ae", "application_context",
                                      "presentation_contexts", "implementation_class_uid",
                                      "implementation_version_name")} == {
        "calling_ae": "CT-SCANNER-1", "called_ae": "PACS",
        "application_context": "1.2.840.10008.3.1.1.1", "presentation_contexts": 1,
        "implementation_class_uid": "1.2.826.0.1.3680043.9.9999",
        "implementation_version_name": "ACME_CT_5.2"}


def test_commands_map_to_operations() -> None:
    operations = {e.function: e.operation for e in events(dialogue("dicom", [
        (True, dicom_command(c)) for c in (0x0001, 0x0010, 0x0020, 0x0021, 0x0030)]))}
    assert operations == {"c_store": "write", "c_get": "read", "c_find": "read",
                          "c_move": "read", "c_echo": "diagnostics"}


def test_both_ends_enter_the_inventory_with_their_implementation(tmp_path: Path) -> None:
    _, summary = captured(tmp_path, DICOM_SESSION, port=11112)
    hosts = {h["ip"]: h for h in summary.hosts}
    assert hosts["10.20.0.2"]["identity"]["product"] == "ACME_CT_5.2"
    assert hosts["10.20.0.2"]["identity"]["ae_title"] == "CT-SCANNER-1"
    assert hosts["10.20.0.1"]["identity"]["product"] == "PACS_SRV_1.0"


def test_reject_and_abort_report_source_and_reason() -> None:
    out = events(dialogue("dicom", [(False, dicom_pdu(3, b"\x00\x01\x01\x07")),
                                    (True, dicom_pdu(7, b"\x00\x00\x02\x06"))]))
    assert [(e.function, e.detail["source"], e.detail["reason"]) for e in out] == [
        ("associate_rj", 1, 7), ("abort", 2, 6)]


def test_a_bad_pdv_length_is_an_anomaly_at_its_offset() -> None:
    out = dialogue("dicom", [(True, dicom_pdu(4, struct.pack(">I", 1) + b"\x01"))])
    (problem,) = anomalies(out)
    assert (problem.reason, problem.offset) == ("bad-pdv", 6)


def test_an_unknown_pdu_type_is_an_anomaly() -> None:
    out = dialogue("dicom", [(True, b"\x09\x00\x00\x00\x00\x00"), (True, dicom_pdu(5, bytes(4)))])
    assert [a.reason for a in anomalies(out)] == ["bad-header"]
