"""Zeek's own `dnp3.log`: one row per application request and its reply — the request's
time, `fc_request`, `fc_reply` and `iin` (IIN1 × 256 + IIN2, the two octets read
big-endian as Zeek's analyzer does). A reply without a request (unsolicited, or the
request before the capture) is a row of its own; a request left unanswered is written
when the next one arrives or at the end (Zeek overwrites it; here nothing is lost)."""

from __future__ import annotations

from typing import Any

from isthmus.security.dissectors.dnp3.names import FUNCTIONS, IIN_BITS, UNSOLICITED_RESPONSE

__all__ = ["DNP3_COLUMNS", "Dnp3Pairs", "zeek_function", "zeek_iin"]

DNP3_COLUMNS = [("fc_request", "string"), ("fc_reply", "string"), ("iin", "count")]

# Zeek's names where they are not simply ours in capitals
_ZEEK_NAMES = {7: "IMMED_FREEZE", 8: "IMMED_FREEZE_NR", 16: "INITIALIZE_APPL",
               17: "START_APPL", 18: "STOP_APPL", 19: "SAVE_CONFIG", 32: "AUTHENTICATE_REQ",
               33: "AUTH_REQ_NO_ACK", 131: "AUTHENTICATE_RESP"}
_IIN_VALUES = {name: 1 << (bit + 8 if bit < 8 else bit - 8) for bit, name in enumerate(IIN_BITS)}


def zeek_function(code: int) -> str:
    """The function code's name in Zeek's dnp3.log."""
    if code in _ZEEK_NAMES:
        return _ZEEK_NAMES[code]
    known = FUNCTIONS.get(code)
    return known[0].upper() if known is not None else f"unknown-{code}"


def zeek_iin(names: list[str] | None) -> int | None:
    """The internal indications as Zeek's count, from the bit names the event carries."""
    return None if names is None else sum(_IIN_VALUES[name] for name in names)


class Dnp3Pairs:
    """Pairs requests and replies per connection; returns the rows ready to write (the
    connection's leading columns, then fc_request, fc_reply, iin)."""

    def __init__(self, limit: int = 100_000) -> None:
        self._pending: dict[str, tuple[list[Any], str]] = {}
        self._limit = limit

    def request(self, uid: str, head: list[Any], code: int) -> list[list[Any]]:
        rows = []
        earlier = self._pending.pop(uid, None)
        if earlier is not None:
            rows.append([*earlier[0], earlier[1], None, None])
        elif len(self._pending) >= self._limit:
            oldest = self._pending.pop(next(iter(self._pending)))
            rows.append([*oldest[0], oldest[1], None, None])
        self._pending[uid] = (head, zeek_function(code))
        return rows

    def reply(self, uid: str, head: list[Any], code: int, iin: list[str] | None) -> list[Any]:
        # an unsolicited response answers no request: it leaves a pending one waiting
        request = None if code == UNSOLICITED_RESPONSE else self._pending.pop(uid, None)
        if request is None:
            return [*head, None, zeek_function(code), zeek_iin(iin)]
        return [*request[0], request[1], zeek_function(code), zeek_iin(iin)]

    def unanswered(self) -> list[list[Any]]:
        rows = [[*head, name, None, None] for head, name in self._pending.values()]
        self._pending.clear()
        return rows
