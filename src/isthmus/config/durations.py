"""Durations in configuration files: a number of seconds, or text such as `500ms`, `90s`,
`15m`, `2h`, `3d`, `1w` and sums of them (`1h30m`, `1d12h`)."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import BeforeValidator

__all__ = ["Duration", "parse_duration"]

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w)")


def parse_duration(value: object) -> float:
    """Seconds from a number or a duration string (`45`, `90s`, `2h`, `1d12h`, `500ms`)."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a duration")
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError(f"duration {value} is negative")
        return float(value)
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not a duration: give seconds or e.g. '15m', '2h', '3d'")
    text = value.strip().replace(" ", "")
    parts = _PART.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"{value!r} is not a duration: give seconds or e.g. '90s', '15m', "
                         f"'2h', '3d', '1w', '1d12h'")
    return sum(float(n) * _UNITS[u] for n, u in parts)


#: A pydantic field type: seconds, accepting the text forms above.
Duration = Annotated[float, BeforeValidator(parse_duration)]
