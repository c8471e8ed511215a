"""The mypyc build of the monitor's per-packet path: stale builds are detected, the sources
can be imported instead, and both give the same events."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import isthmus.security.monitor
from isthmus.native import compiled_files, is_compiled, stale_sources, write_manifest

ROOT = Path(__file__).resolve().parent.parent
SUFFIX = ".cpython-311-x86_64-linux-gnu.so"


def _pure_env() -> dict[str, str]:
    return {**os.environ, "ISTHMUS_PURE_PYTHON": "1"}


def test_an_edited_source_makes_its_build_stale(tmp_path: Path) -> None:
    package = tmp_path / "isthmus" / "security"
    package.mkdir(parents=True)
    source = package / "monitor.py"
    source.write_text("X = 1\n")
    (package / f"monitor{SUFFIX}").write_bytes(b"compiled")
    (package / "inventory.py").write_text("Y = 1\n")     # not compiled: never stale
    assert stale_sources(tmp_path) == ["isthmus/security/monitor.py"]   # no manifest yet
    write_manifest(tmp_path)
    assert stale_sources(tmp_path) == []
    source.write_text("X = 2\n")
    assert stale_sources(tmp_path) == ["isthmus/security/monitor.py"]
    assert compiled_files(tmp_path) == [package / f"monitor{SUFFIX}"]


def test_pure_python_mode_imports_the_sources() -> None:
    out = subprocess.run(
        [sys.executable, "-c", "import isthmus.security.monitor as m, isthmus.security.events "
         "as e, isthmus.security.dissectors.dnp3 as d; print(m.__file__, e.__file__, d.__file__)"],
        env=_pure_env(), capture_output=True, text=True, check=True)
    files = out.stdout.split()
    assert len(files) == 3 and all(f.endswith(".py") for f in files), out.stdout


@pytest.mark.skipif(not is_compiled(isthmus.security.monitor),
                    reason="the monitor is not compiled here (`make native`): this run is the "
                           "pure-Python one already")
def test_the_sources_give_the_same_events_as_the_compiled_build() -> None:
    """The golden captures and the fast-path equivalence tests, run again on the sources."""
    tests = ["tests/security/test_golden.py", "tests/security/test_ics_fast_paths.py",
             "tests/security/test_framed_session.py", "tests/security/detect/test_rules_fire.py"]
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *tests],
                         cwd=ROOT, env=_pure_env(), capture_output=True, text=True)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert " passed" in run.stdout
