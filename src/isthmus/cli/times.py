"""Times and durations typed on the command line: ISO 8601 or relative to now (`-15m`),
and durations (`10s`, `1h30m`), all as integer nanoseconds since the Unix epoch (UTC).
"""

from __future__ import annotations

import datetime as dt
import re

__all__ = ["format_ts", "parse_duration", "parse_time"]

_UNIT_NS = {
    "ns": 1, "us": 1_000, "ms": 1_000_000, "s": 1_000_000_000, "m": 60_000_000_000,
    "h": 3_600_000_000_000, "d": 86_400_000_000_000, "w": 604_800_000_000_000,
}
_PART = re.compile(r"(\d+(?:\.\d+)?)(ns|us|ms|s|m|h|d|w)")
_DURATION = re.compile(r"(?:\d+(?:\.\d+)?(?:ns|us|ms|s|m|h|d|w))+")
_FRACTION = re.compile(r"(?<=\d\d)[.,](\d+)")
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_NS_PER_US = 1_000

_TIME_FORMS = ("ISO 8601 (2024-05-01T12:00:00Z, 2024-05-01T14:00:00+02:00, 2024-05-01; "
               "no zone means UTC), 'now', or relative to now (-30s, -15m, -1h, -2d, -1w, +5m)")
_DURATION_FORMS = ("a number and a unit, e.g. 500ms, 10s, 1m, 1h, 1d, 1w, or several "
                   "together, e.g. 1h30m (units: ns, us, ms, s, m, h, d, w)")


def _duration_ns(text: str) -> int | None:
    """Nanoseconds in `text` like `1h30m`, or None if it is not a duration."""
    if not _DURATION.fullmatch(text):
        return None
    total = 0
    for number, unit in _PART.findall(text):
        whole, _, frac = number.partition(".")
        scale = _UNIT_NS[unit]
        total += int(whole) * scale
        if frac:
            total += int(frac) * scale // 10 ** len(frac)
    return total


def parse_duration(text: str) -> int:
    """Nanoseconds in a duration such as `10s`, `500ms`, `1h30m`; must be above zero."""
    value = _duration_ns(text.strip().lower())
    if value is None:
        raise ValueError(f"cannot read duration {text!r}: expected {_DURATION_FORMS}")
    if value <= 0:
        raise ValueError(f"duration {text!r} must be longer than zero")
    return value


def parse_time(text: str, *, now_ns: int) -> int:
    """Nanoseconds since the epoch (UTC) for an ISO 8601 time, `now`, or `-15m`-style offset."""
    cleaned = text.strip()
    lowered = cleaned.lower()
    if lowered == "now":
        return now_ns
    if lowered[:1] in ("-", "+"):
        offset = _duration_ns(lowered[1:])
        if offset is None:
            raise ValueError(f"cannot read time {text!r}: expected {_TIME_FORMS}")
        return now_ns - offset if lowered[0] == "-" else now_ns + offset
    return _parse_iso(cleaned, text)


def _parse_iso(cleaned: str, text: str) -> int:
    extra_ns = 0
    match = _FRACTION.search(cleaned)
    if match and ("T" in cleaned.upper() or " " in cleaned):
        digits = match.group(1)
        extra_ns = int(digits[:9].ljust(9, "0"))
        cleaned = cleaned[: match.start()] + cleaned[match.end():]
    try:
        moment = dt.datetime.fromisoformat(cleaned.replace("z", "Z"))
    except ValueError as exc:
        reason = "" if str(exc).startswith("Invalid isoformat") else f" ({exc})"
        raise ValueError(f"cannot read time {text!r}{reason}: expected {_TIME_FORMS}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    micros = (moment - _EPOCH) // dt.timedelta(microseconds=1)
    return micros * _NS_PER_US + extra_ns


def format_ts(ns: int) -> str:
    """`2024-05-01T12:00:00.123Z`: ISO 8601 in UTC, to the millisecond (rounded down)."""
    seconds, rest = divmod(ns, 1_000_000_000)
    try:
        moment = _EPOCH + dt.timedelta(seconds=seconds)
    except OverflowError:
        raise ValueError(f"timestamp {ns} ns is outside the years 1–9999") from None
    # isoformat, not strftime: %Y does not zero-pad years before 1000
    stamp = moment.replace(tzinfo=None).isoformat(timespec="seconds")
    return f"{stamp}.{rest // 1_000_000:03d}Z"
