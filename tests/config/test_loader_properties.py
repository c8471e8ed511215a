"""Properties of load_site: a valid site survives a YAML round trip unchanged, and no corruption
of a site file raises anything but SiteConfigError."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from isthmus.config import SiteConfig, SiteConfigError, load_site

NAMES = st.from_regex(r"[a-z][a-z0-9_-]{0,7}", fullmatch=True)
FINITE = st.floats(allow_nan=False, allow_infinity=False)
WORD_TYPES = ["int16", "uint16", "int32", "uint32", "int64", "uint64", "float32", "float64"]


def text_without_nel(max_size: int = 40) -> st.SearchStrategy[str]:
    # PyYAML itself does not round-trip NEL (U+0085): it dumps it as a bare line break
    return st.text(st.characters(blacklist_characters="\x85"), max_size=max_size)


EXAMPLE = Path(__file__).parents[2] / "examples" / "water-utility.yaml"


@st.composite
def points(draw: st.DrawFn, address: int) -> dict[str, Any]:
    table = draw(st.sampled_from(["coil", "discrete_input", "holding_register",
                                  "input_register"]))
    kind = "bool" if table in ("coil", "discrete_input") else draw(st.sampled_from(WORD_TYPES))
    low, high = sorted(draw(st.tuples(FINITE, FINITE)))
    optional = {
        "byte_order": st.sampled_from(["big", "little"]),
        "word_order": st.sampled_from(["big", "little"]),
        "scale": FINITE, "offset": FINITE, "unit": text_without_nel(max_size=8),
        "range": st.just([low, high]),
        "deadband": st.floats(min_value=0, allow_infinity=False),
        "scan_rate": st.floats(min_value=0.001, max_value=86400),
        "description": text_without_nel(max_size=30),
    }
    return draw(st.fixed_dictionaries({"table": st.just(table), "address": st.just(address),
                                       "type": st.just(kind)}, optional=optional))


@st.composite
def tag_maps(draw: st.DrawFn, base: int) -> dict[str, Any]:
    names = draw(st.lists(NAMES, unique=True, max_size=4))
    # four registers apart: no point can overlap another, whatever its type
    return {name: draw(points(base + 4 * i)) for i, name in enumerate(names)}


@st.composite
def sites(draw: st.DrawFn) -> dict[str, Any]:
    templates = {name: {"tags": draw(tag_maps(0))}
                 for name in draw(st.lists(NAMES, unique=True, max_size=2))}
    devices = []
    for i, name in enumerate(draw(st.lists(NAMES, unique=True, max_size=3))):
        units = []
        for j, unit_id in enumerate(draw(st.lists(st.integers(0, 247), unique=True,
                                                  max_size=3))):
            unit: dict[str, Any] = {"unit_id": unit_id, "path": f"area/line-{i}/cell/u{j}",
                                    "tags": draw(tag_maps(1000))}
            if templates and draw(st.booleans()):
                unit["template"] = draw(st.sampled_from(sorted(templates)))
            units.append(unit)
        device = {"name": name, "host": f"127.0.11.{i + 1}", "units": units}
        device |= draw(st.fixed_dictionaries({}, optional={
            "port": st.integers(1, 65535), "timeout": st.floats(0.01, 60),
            "scan_rate": st.floats(0.01, 86400), "max_gap": st.integers(0, 100)}))
        devices.append(device)
    return {"enterprise": draw(NAMES), "site": draw(NAMES), "description": draw(text_without_nel()),
            "templates": templates, "devices": devices}


@pytest.fixture(scope="module")
def work_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("properties")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(site=sites())
def test_valid_site_round_trips_through_yaml(work_dir: Path, site: dict[str, Any]) -> None:
    path = work_dir / "site.yaml"
    path.write_text(yaml.safe_dump(site, sort_keys=False, allow_unicode=True), "utf-8")
    assert load_site(path) == SiteConfig.model_validate(site)


SNIPPETS = [":", " ", "  ", "\t", "-", "- ", "{", "}", "[", "]", ",", "&a ", "*a", "!!binary ",
            "'", '"', "#", "\n", "|", ">", "%YAML 1.1\n", "@", "`", "0", "300", "-1", "x", "X",
            "null", "~", "? ", "<<: *a", "2024-13-45", "1e999", ".nan", "é", "\x00", "\ufeff",
            "unit_id: 1", "tags:", "address: 70000", "type: bool", "template: zz", "---\n"]


@st.composite
def corruptions(draw: st.DrawFn, text: str) -> str:
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(text)))
        action = draw(st.sampled_from(["insert", "delete", "duplicate-line", "drop-line"]))
        if action == "insert":
            snippet = draw(st.sampled_from(SNIPPETS) | st.text(max_size=4))
            text = text[:at] + snippet + text[at:]
        elif action == "delete":
            text = text[:at] + text[at + draw(st.integers(1, 20)):]
        else:
            lines = text.splitlines(keepends=True) or [""]
            n = at % len(lines)
            extra = [lines[n]] if action == "duplicate-line" else []
            text = "".join(lines[:n] + extra + lines[n + 1:])
    return text


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=corruptions(EXAMPLE.read_text("utf-8")))
def test_corrupted_site_raises_only_site_config_error(work_dir: Path, text: str) -> None:
    path = work_dir / "corrupt.yaml"
    path.write_text(text, "utf-8", errors="surrogatepass")
    try:
        load_site(path)
    except SiteConfigError as exc:
        line_count = text.count("\n") + 2
        for issue in exc.issues:
            assert issue.file == str(path)
            assert issue.message
            assert issue.line is None or 1 <= issue.line <= line_count
        assert str(exc).startswith(str(path))


@settings(max_examples=100, deadline=None)
@given(data=st.binary(max_size=200))
def test_random_bytes_raise_only_site_config_error(work_dir: Path, data: bytes) -> None:
    path = work_dir / "bytes.yaml"
    path.write_bytes(data)
    try:
        load_site(path)
    except SiteConfigError as exc:
        assert exc.issues
