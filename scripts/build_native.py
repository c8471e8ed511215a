"""Compile the security monitor's per-packet path to C extensions with mypyc (`make native`).

The modules stay plain, typed Python: without this step they run as they are. Compiled, the
`.so` files sit beside the sources (git ignores them) and Python imports them first, so a
manifest of the sources' SHA-256 is written next to them; `isthmus.native` compares it with
the sources and reports stale builds (the test suite refuses to run on one). Set
ISTHMUS_PURE_PYTHON=1 to import the sources even when compiled modules are present.

Usage: python scripts/build_native.py [--clean]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src"
sys.path.insert(0, str(SRC))

from isthmus.native import MANIFEST, NATIVE_MODULES, compiled_files, write_manifest  # noqa: E402


def _sources() -> list[str]:
    files: list[str] = []
    for module in NATIVE_MODULES:
        path = SRC / Path(*module.split("."))
        if path.is_dir():
            files.extend(str(p.relative_to(SRC)) for p in sorted(path.glob("*.py")))
        else:
            files.append(str(path.with_suffix(".py").relative_to(SRC)))
    return files


def clean() -> int:
    removed = compiled_files()
    for path in removed:
        path.unlink()
    (SRC / MANIFEST).unlink(missing_ok=True)
    return len(removed)


def build() -> None:
    from mypyc.build import mypycify
    from setuptools import setup

    sources = _sources()
    started = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="isthmus-native-"))
    cwd = Path.cwd()
    os.chdir(SRC)
    try:
        extensions = mypycify(sources, opt_level="3", debug_level="0",
                              target_dir=str(work / "c"))
        setup(name="isthmus-native", ext_modules=extensions, script_args=[
            "-q", "build_ext", "--inplace", "--build-temp", str(work / "o")])
    finally:
        os.chdir(cwd)
        for leftover in (work, SRC / "build", SRC / ".mypy_cache"):
            shutil.rmtree(leftover, ignore_errors=True)
    write_manifest()
    print(f"compiled {len(sources)} modules with mypyc in {time.perf_counter() - started:.0f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clean", action="store_true", help="remove the compiled modules")
    parser.add_argument("--list", action="store_true", help="print the sources compiled")
    args = parser.parse_args()
    if args.list:
        print(" ".join(f"src/{name}" for name in _sources()))
        return
    removed = clean()
    if args.clean:
        print(f"removed {removed} compiled files")
        return
    build()


if __name__ == "__main__":
    main()
