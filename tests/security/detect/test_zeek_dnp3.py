"""Zeek's own dnp3.log from a real DNP3 conversation: requests paired with replies, Zeek's
function names, IIN as Zeek counts it, unsolicited replies and unanswered requests kept."""

from __future__ import annotations

from pathlib import Path

from isthmus.security import Monitor
from isthmus.security.detect.zeek import ZeekLogs
from isthmus.security.detect.zeek_dnp3 import zeek_function, zeek_iin
from tests.security.detect.test_outputs import _read_zeek
from tests.security.golden_cases import CASES
from tests.security.traffic import write_pcap


def test_requests_and_replies_become_zeek_rows(tmp_path: Path) -> None:
    linktype, frames = CASES["dnp3-outstation"]()
    logs = ZeekLogs(tmp_path / "zeek")
    monitor = Monitor(sink=logs.write)
    monitor.read(write_pcap(tmp_path / "dnp3.pcap", frames, linktype=linktype))
    monitor.finish()
    logs.close()
    meta, rows = _read_zeek(tmp_path / "zeek" / "dnp3.log")
    assert meta["fields"] == ("ts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\t"
                              "fc_request\tfc_reply\tiin")
    assert meta["types"].endswith("string\tstring\tcount")
    pairs = [(r["fc_request"], r["fc_reply"], r["iin"]) for r in rows]
    # the read answered with IIN1.4 need-time (0x1000 as Zeek reads the two octets)
    assert pairs[0] == ("READ", "RESPONSE", str(0x1000))
    assert ("SELECT", "RESPONSE", "0") in pairs
    assert ("-", "UNSOLICITED_RESPONSE", "0") in pairs         # no request before it
    unanswered = {p[0] for p in pairs if p[1] == "-"}
    assert unanswered == {"OPERATE", "WRITE", "COLD_RESTART"}
    assert all(r["id.resp_p"] == "20000" for r in rows)       # oriented master → outstation
    _, detailed = _read_zeek(tmp_path / "zeek" / "dnp3_isthmus.log")
    assert len(detailed) == 8                                # every message, both ways


def test_zeek_names_and_iin_counts() -> None:
    assert zeek_function(1) == "READ" and zeek_function(129) == "RESPONSE"
    assert zeek_function(17) == "START_APPL" and zeek_function(7) == "IMMED_FREEZE"
    assert zeek_function(200) == "unknown-200"
    assert zeek_iin(["device_restart", "no_func_code_support"]) == 0x8001
    assert zeek_iin([]) == 0 and zeek_iin(None) is None
