"""MAC vendor look-up from IEEE registry CSV files (Debian's ieee-data format). The sample
file is ours (invented organisations, same columns as /usr/share/ieee-data/oui.csv)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from isthmus.security.craft import Endpoint, TcpConversation
from isthmus.security.inventory import Inventory
from isthmus.security.monitor import Monitor
from isthmus.security.oui import IEEE_DATA, OuiTable, default_oui_table, normalise_mac
from tests.security.traffic import PLC, read_request, registers_response, write_pcap

SAMPLE = Path(__file__).parent / "testdata" / "oui-sample.csv"


@pytest.fixture(scope="module")
def table() -> OuiTable:
    return OuiTable.from_csv([SAMPLE])


def test_longest_registered_prefix_wins(table: OuiTable) -> None:
    assert table.vendor("AC:DE:48:12:34:56") == "Example Small Block SA"      # MA-S
    assert table.vendor("ac-de-48-1f-00-00") == "Example Medium Block GmbH"   # MA-M
    assert table.vendor("acde.4820.0000") == "Example Large Block Inc."       # MA-L
    assert table.vendor("00:aa:bb:00:00:01") == "Quoted, Name & Co"


def test_addresses_no_vendor_owns_have_none(table: OuiTable) -> None:
    assert table.vendor("00:00:00:00:00:00") is None      # loopback frames
    assert table.vendor("02:de:48:12:34:56") is None      # locally administered
    assert table.vendor("01:00:5e:00:00:01") is None      # multicast
    assert table.vendor("12:34:56") is None               # not 48 bits
    assert table.vendor("00:11:22:33:44:55") is None      # not in the sample


@given(st.integers(0, 2**48 - 1), st.sampled_from([":", "-", ""]), st.booleans())
def test_normalise_mac_accepts_any_spelling(value: int, sep: str, upper: bool) -> None:
    digits = f"{value:012x}"
    text = sep.join(digits[i:i + 2] for i in range(0, 12, 2))
    assert normalise_mac(text.upper() if upper else text) == digits.upper()


def test_a_missing_file_gives_an_empty_table(tmp_path: Path) -> None:
    assert len(OuiTable.from_csv([tmp_path / "nope.csv"])) == 0


def test_the_monitor_names_the_vendor_of_a_hosts_mac(table: OuiTable, tmp_path: Path) -> None:
    hmi = Endpoint("10.10.0.7", 40000, "ac:de:48:20:00:07")
    talk = TcpConversation(hmi, PLC)
    frames = [*talk.handshake(), talk.send(True, read_request(1)),
              talk.send(False, registers_response(1, [1, 2])), *talk.close()]
    monitor = Monitor()
    monitor.inventory = Inventory(oui=table)
    monitor.read(write_pcap(tmp_path / "x.pcap", frames))
    hosts = {h["ip"]: h for h in monitor.finish().hosts}
    assert hosts["10.10.0.7"]["mac_vendors"] == {"ac:de:48:20:00:07": "Example Large Block Inc."}
    assert "mac_vendors" not in hosts[PLC.ip]             # 02:… is locally administered


@pytest.mark.skipif(not (IEEE_DATA / "oui.csv").is_file(), reason="ieee-data not installed")
def test_the_system_table_is_debians_ieee_data() -> None:
    table = default_oui_table()
    assert len(table) > 30_000
    # IEEE assignment 00-11-00 (Debian ieee-data 20220827.1, oui.csv)
    assert table.vendor("00:11:00:01:02:03") == "Schneider Electric"
