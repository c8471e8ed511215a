"""Turns pydantic's validation errors into messages a controls engineer can act on:
the offending value, the allowed range or choices, and the key that was probably meant.
"""

from __future__ import annotations

import difflib
import re
import types
from typing import Annotated, Any, Union, get_args, get_origin

import annotated_types as at
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails

from isthmus.config.schema import SiteConfig
from isthmus.config.yaml_source import KEY, Finding, Loc

__all__ = ["finding_of", "show", "suggest"]

_SEGMENT = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_SEGMENT_RULE = "lowercase letters, digits, '_' or '-', starting with a letter or digit"
_ASSET_LEVELS = ("area", "line", "cell", "asset")


def show(value: object, limit: int = 40) -> str:
    """A short, quoted rendering of a user's value for a message."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def suggest(word: str, choices: list[str]) -> str | None:
    """The choice `word` was most likely meant to be, if any is close."""
    matches = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    if not matches:
        matches = [c for c in choices if c.startswith(word) or word.startswith(c)][:1]
    return matches[0] if matches else None


def _described(value: object) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, int | float):
        return f"the number {value!r}"
    if isinstance(value, str):
        return f"the text {show(value)}"
    return f"{type(value).__name__} {show(value)}"


def _unwrap(tp: Any) -> Any:
    while True:
        origin = get_origin(tp)
        if origin is Annotated:
            tp = get_args(tp)[0]
        elif origin in (Union, types.UnionType):
            args = [a for a in get_args(tp) if a is not type(None)]
            if len(args) != 1:
                return tp
            tp = args[0]
        else:
            return tp


def _model_at(loc: Loc) -> type[BaseModel] | None:
    """The schema model that the mapping at `loc` is validated against."""
    tp: Any = SiteConfig
    for item in loc:
        tp = _unwrap(tp)
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            field = tp.model_fields.get(item) if isinstance(item, str) else None
            if field is None:
                return None
            tp = field.annotation
        elif get_origin(tp) is list and isinstance(item, int):
            tp = get_args(tp)[0]
        elif get_origin(tp) is dict:
            tp = get_args(tp)[1]
        else:
            return None
    tp = _unwrap(tp)
    return tp if isinstance(tp, type) and issubclass(tp, BaseModel) else None


def _field_at(loc: Loc) -> FieldInfo | None:
    model = _model_at(loc[:-1]) if loc else None
    if model is None or not isinstance(loc[-1], str):
        return None
    return model.model_fields.get(loc[-1])


def _constraints(field: FieldInfo) -> list[Any]:
    found = list(field.metadata)
    for arg in get_args(field.annotation):
        if get_origin(arg) is Annotated:
            for meta in arg.__metadata__:
                if isinstance(meta, FieldInfo):
                    found.extend(meta.metadata)
    return found


def _range_text(loc: Loc) -> str | None:
    field = _field_at(loc)
    if field is None:
        return None
    low = high = ""
    for c in _constraints(field):
        if isinstance(c, at.Ge):
            low = f"{c.ge}"
        elif isinstance(c, at.Gt):
            low = f"above {c.gt}"
        elif isinstance(c, at.Le):
            high = f"{c.le}"
        elif isinstance(c, at.Lt):
            high = f"below {c.lt}"
    if low and high:
        return f"{low}–{high}" if not low.startswith("above") and not high.startswith(
            "below") else f"{low} and up to {high}"
    return None


def _bound_message(name: str, err: ErrorDetails) -> str:
    value, ctx = err["input"], err.get("ctx", {})
    allowed = _range_text(err["loc"])
    if allowed:
        return f"{name} {show(value)} is out of range {allowed}"
    words = {"greater_than": "above", "greater_than_equal": "at least",
             "less_than": "below", "less_than_equal": "at most"}
    bound = next(iter(ctx.values()), "?")
    return f"{name} {show(value)} must be {words[err['type']]} {bound}"


def _pattern_message(name: str, value: object, loc: Loc) -> str:
    if loc and loc[-1] == "path" and isinstance(value, str):
        segments = value.split("/")
        if len(segments) != len(_ASSET_LEVELS):
            return (f"path {show(value)} has {len(segments)} segment(s); expected "
                    f"{len(_ASSET_LEVELS)}: " + "/".join(_ASSET_LEVELS))
        for level, segment in zip(_ASSET_LEVELS, segments, strict=True):
            if not _SEGMENT.match(segment):
                return (f"path {show(value)}: {level} segment {show(segment)} must be "
                        + _SEGMENT_RULE)
    return f"{name} {show(value)} must be {_SEGMENT_RULE}"


def _choices(err: ErrorDetails) -> list[str]:
    return re.findall(r"'([^']*)'", str(err.get("ctx", {}).get("expected", "")))


def _choice_finding(name: str, err: ErrorDetails) -> Finding:
    choices = _choices(err)
    value = err["input"]
    close = difflib.get_close_matches(value, choices, n=2, cutoff=0.6) \
        if isinstance(value, str) else []
    guesses = " or ".join(repr(c) for c in choices if c in close)
    message = f"{name} {show(value)} is not one of: {', '.join(choices)}"
    return Finding(err["loc"], message, f"did you mean {guesses}?" if guesses else None)


def _extra_finding(err: ErrorDetails) -> Finding:
    loc = err["loc"]
    key = str(loc[-1])
    model = _model_at(loc[:-1])
    allowed = sorted(model.model_fields) if model else []
    guess = suggest(key, allowed)
    message = f"unknown key {key!r}" + (f"; did you mean {guess!r}?" if guess else "")
    hint = f"allowed keys here: {', '.join(allowed)}" if allowed else None
    if " " in key and not guess:
        hint = ("inside { } a comma ends a value: put text that contains commas in quotes"
                + (f"; {hint}" if hint else ""))
    return Finding(loc, message, hint, kind="unknown-key", at_key=True)


def _key_name(loc: Loc) -> str:
    parent = next((i for i in reversed(loc[:-2]) if isinstance(i, str)), "")
    return f"{parent.removesuffix('s')} name" if parent else "key"


_TYPE_WORDS = {
    "int_parsing": "a whole number", "int_type": "a whole number",
    "int_from_float": "a whole number", "float_parsing": "a number", "float_type": "a number",
    "finite_number": "a finite number", "string_type": "text", "bool_parsing": "true or false",
    "bool_type": "true or false", "list_type": "a list", "dict_type": "a mapping (key: value)",
    "model_type": "a mapping (key: value)", "model_attributes_type": "a mapping (key: value)",
    "tuple_type": "a list", "none_required": "nothing",
}


def finding_of(err: ErrorDetails) -> Finding:
    """A located, readable message for one pydantic error."""
    loc, kind, value = err["loc"], err["type"], err.get("input")
    is_key = bool(loc) and loc[-1] == KEY
    name = _key_name(loc) if is_key else next(
        (str(i) for i in reversed(loc) if isinstance(i, str)), "value")
    if kind == "extra_forbidden":
        return _extra_finding(err)
    if kind == "missing":
        return Finding(loc, f"missing required key {name!r}", kind="missing")
    if kind in ("enum", "literal_error"):
        return _choice_finding(name, err)
    if kind == "string_pattern_mismatch":
        return Finding(loc, _pattern_message(name, value, loc))
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        return Finding(loc, _bound_message(name, err))
    if kind in _TYPE_WORDS:
        return Finding(loc, f"{name} must be {_TYPE_WORDS[kind]}, not {_described(value)}")
    if kind in ("too_long", "too_short") and name == "range":
        return Finding(loc, f"range must be two numbers [low, high], not {show(value)}")
    if kind == "value_error":
        return Finding(loc, str(err["msg"]).removeprefix("Value error, "), kind="value-error")
    return Finding(loc, f"{name}: {err['msg']} (got {show(value)})")
