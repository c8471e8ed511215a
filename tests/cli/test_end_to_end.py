"""The commands a new user types, run as real processes: demo, tags, query, run + SIGTERM."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from isthmus.cli.running import embedded_site_path
from isthmus.config import load_site
from isthmus.gateway import namespace_tags
from isthmus.historian import open_historian

pytestmark = pytest.mark.slow
ISTHMUS = [sys.executable, "-m", "isthmus"]


def isthmus(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*ISTHMUS, *args], capture_output=True, text=True, timeout=timeout,
                          check=False)


def site_on(tmp_path: Path, prefix: str) -> Path:
    """The demo plant moved to other loopback addresses, so tests never meet a running demo."""
    site = load_site(embedded_site_path()).on_hosts(prefix)
    path = tmp_path / "site.yaml"
    path.write_text(yaml.safe_dump(site.model_dump(mode="json", exclude_defaults=True),
                                   sort_keys=False))
    return path


def test_demo_then_query_returns_values_for_every_demo_tag(tmp_path: Path) -> None:
    data = tmp_path / "data"
    demo = isthmus("demo", "--duration", "6", "--data", str(data), "--hosts", "127.0.41.")
    assert demo.returncode == 0, demo.stderr
    assert "isthmus query" in demo.stdout
    tags = isthmus("tags", "--json", "--data", str(data))
    assert tags.returncode == 0, tags.stderr
    listed = json.loads(tags.stdout)
    site = load_site(embedded_site_path())
    expected = {t.path for t in site.tags()}          # what the plant serves
    assert {row["tag"] for row in listed} == {t.path for t in namespace_tags(site)}
    polled = [row for row in listed if row["tag"] in expected]
    assert all(row["latest"] is not None for row in polled), \
        [row["tag"] for row in polled if row["latest"] is None]
    for path in sorted(expected):
        out = isthmus("query", path, "--from", "-10m", "--csv", "--data", str(data))
        assert out.returncode == 0, out.stderr
        assert len(out.stdout.strip().splitlines()) >= 2, f"no rows for {path}"


def test_query_aggregates_in_buckets(tmp_path: Path) -> None:
    data = tmp_path / "data"
    demo = isthmus("demo", "--duration", "4", "--data", str(data), "--hosts", "127.0.42.")
    assert demo.returncode == 0, demo.stderr
    tag = load_site(embedded_site_path()).tags()[0].path
    out = isthmus("query", tag, "--from", "-10m", "--every", "1s", "--agg", "max", "--json",
                  "--data", str(data))
    assert out.returncode == 0, out.stderr
    rows = json.loads(out.stdout)
    assert rows and all(row["count"] >= 1 for row in rows)


def test_query_of_an_unknown_tag_says_so(tmp_path: Path) -> None:
    data = tmp_path / "data"
    demo = isthmus("demo", "--duration", "2", "--data", str(data), "--hosts", "127.0.43.")
    assert demo.returncode == 0, demo.stderr
    out = isthmus("query", "acme/lyon/no/such/tag/here/x", "--data", str(data))
    assert out.returncode == 1
    assert "acme/lyon/no/such/tag/here/x" in out.stderr and "isthmus tags" in out.stderr


def test_query_without_a_historian_explains_what_to_do(tmp_path: Path) -> None:
    out = isthmus("query", "a/b/c/d/e/f/g", "--data", str(tmp_path / "empty"))
    assert out.returncode == 1 and "isthmus demo" in out.stderr


def test_sigterm_stops_the_gateway_and_flushes_every_accepted_sample(tmp_path: Path) -> None:
    site = site_on(tmp_path, "127.0.31.")
    data = tmp_path / "data"
    sim = subprocess.Popen([*ISTHMUS, "sim", "-c", str(site)], stderr=subprocess.PIPE,
                           text=True)
    try:
        assert sim.stderr is not None
        assert "simulator:" in sim.stderr.readline()
        gateway = subprocess.Popen([*ISTHMUS, "run", "-c", str(site), "--data", str(data)],
                                   stderr=subprocess.PIPE, text=True)
        time.sleep(4)
        gateway.send_signal(signal.SIGTERM)
        _, err = gateway.communicate(timeout=60)
    finally:
        sim.send_signal(signal.SIGINT)
        sim.communicate(timeout=30)
    assert gateway.returncode == 0, err
    match = re.search(r"([\d,]+) samples accepted, ([\d,]+) written", err)
    assert match, err
    accepted, written = (int(g.replace(",", "")) for g in match.groups())
    assert accepted > 0 and accepted == written
    historian = open_historian(f"sqlite:///{data / 'historian.db'}")
    try:
        assert historian.sample_count() == written
    finally:
        historian.close()


def test_check_exits_2_on_a_broken_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("enterprise: acme\nsite: lyon\ndevices:\n  - name: x\n    hots: 1.2.3.4\n")
    out = isthmus("check", "-c", str(bad))
    assert out.returncode == 2
    assert f"{bad}:5" in out.stderr and "host" in out.stderr


def test_plan_prints_the_requests_for_the_demo_site() -> None:
    out = isthmus("plan", "-c", str(embedded_site_path()))
    assert out.returncode == 0, out.stderr
    assert "127.0.10.1" in out.stdout


def test_every_command_has_help() -> None:
    for command in ("demo", "sim", "run", "check", "plan", "query", "tags", "monitor"):
        out = isthmus(command, "--help")
        assert out.returncode == 0 and "Usage" in out.stdout, command


@pytest.fixture(autouse=True)
def _no_inherited_data_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PYTHONUNBUFFERED", "1")
    os.environ.pop("ISTHMUS_DATA", None)
