"""Rows printed by `isthmus query` and `isthmus tags`: an aligned text table, JSON (a list of
objects) or CSV with a header row.
"""

from __future__ import annotations

import csv
import json
import math
import numbers
from collections.abc import Iterable, Iterator, Sequence
from typing import Literal, TextIO

import numpy as np

__all__ = ["Format", "render"]

Format = Literal["table", "json", "csv"]
_MAX_DECIMALS = 6
_SIGNIFICANT = 6


def render(columns: Sequence[str], rows: Iterable[Sequence[object]], fmt: Format,
           out: TextIO) -> None:
    """Write `rows` (each as long as `columns`) to `out` in the format `fmt`."""
    checked = _checked(columns, rows)
    if fmt == "table":
        _table(columns, list(checked), out)
    elif fmt == "json":
        _json(columns, checked, out)
    elif fmt == "csv":
        _csv(columns, checked, out)
    else:
        raise ValueError(f"unknown output format {fmt!r}: expected table, json or csv")


def _checked(columns: Sequence[str], rows: Iterable[Sequence[object]]
             ) -> Iterator[list[object]]:
    for index, row in enumerate(rows):
        values = [_plain(v) for v in row]
        if len(values) != len(columns):
            raise ValueError(f"row {index} has {len(values)} values; expected {len(columns)} "
                             f"({', '.join(columns)})")
        yield values


def _plain(value: object) -> object:
    """Python scalars for numpy scalars, so that every format treats them alike."""
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    return value


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


# ---- table -------------------------------------------------------------------------------

def _decimals(value: float) -> int:
    """Decimals needed to show `value` to about six significant digits, trailing zeros cut."""
    if not math.isfinite(value) or value == 0:
        return 0
    magnitude = math.floor(math.log10(abs(value)))
    wanted = min(_MAX_DECIMALS, max(0, _SIGNIFICANT - 1 - magnitude))
    text = f"{value:.{wanted}f}".rstrip("0")
    return len(text.split(".")[1]) if "." in text else 0


def _needs_exponent(value: float) -> bool:
    return math.isfinite(value) and value != 0 and not 1e-6 <= abs(value) < 1e15


def _cell(value: object, decimals: int) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if _needs_exponent(value):
            return f"{value:.{_SIGNIFICANT}g}"
        return f"{value:.{decimals}f}"
    text = str(value)
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii")
                   for c in text)


def _table(columns: Sequence[str], rows: list[list[object]], out: TextIO) -> None:
    decimals = [max((_decimals(v) for r in rows if isinstance(v := r[c], float)), default=0)
                for c in range(len(columns))]
    numeric = [any(_is_number(r[c]) for r in rows)
               and all(_is_number(r[c]) or r[c] is None for r in rows)
               for c in range(len(columns))]
    cells = [[_cell(v, decimals[c]) for c, v in enumerate(row)] for row in rows]
    widths = [max([len(name), *(len(r[c]) for r in cells)]) for c, name in enumerate(columns)]

    def line(values: Sequence[str]) -> str:
        parts = [v.rjust(w) if right else v.ljust(w)
                 for v, w, right in zip(values, widths, numeric, strict=True)]
        return "  ".join(parts).rstrip()

    out.write(line(columns) + "\n")
    out.write("  ".join("-" * w for w in widths) + "\n")
    for row in cells:
        out.write(line(row) + "\n")


# ---- json / csv --------------------------------------------------------------------------

def _json_value(value: object) -> object:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def _json(columns: Sequence[str], rows: Iterable[list[object]], out: TextIO) -> None:
    out.write("[")
    first = True
    for row in rows:
        record = {name: _json_value(v) for name, v in zip(columns, row, strict=True)}
        out.write(("\n" if first else ",\n") + json.dumps(record, allow_nan=False))
        first = False
    out.write("]\n" if first else "\n]\n")


def _csv_value(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and math.isnan(value):
        return "NaN"
    return value


def _csv(columns: Sequence[str], rows: Iterable[list[object]], out: TextIO) -> None:
    writer = csv.writer(out, lineterminator="\n")
    # with "\n" line ends the csv module no longer quotes a lone "\r": quote those rows fully
    quote_all = csv.writer(out, lineterminator="\n", quoting=csv.QUOTE_ALL)
    writer.writerow(columns)
    for row in rows:
        values = [_csv_value(v) for v in row]
        has_cr = any(isinstance(v, str) and "\r" in v for v in values)
        (quote_all if has_cr else writer).writerow(values)
