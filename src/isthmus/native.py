"""Which modules `make native` compiles with mypyc, and whether the compiled build is current.

Compiled modules are C extensions beside their sources; Python imports them first. A build
records the SHA-256 of each source it compiled (`native-build.json` in `src/isthmus`); a
source edited since then makes the build *stale*: `stale_sources()` names those files and
the test suite refuses to run on them. `ISTHMUS_PURE_PYTHON=1` makes every `isthmus` module
import from its source even when a compiled one is present (`prefer_sources`).
"""

from __future__ import annotations

import hashlib
import importlib.abc
import importlib.machinery
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

__all__ = ["MANIFEST", "NATIVE_MODULES", "compiled_files", "is_compiled", "prefer_sources",
           "stale_sources", "write_manifest"]

MANIFEST = "isthmus/native-build.json"          # relative to the `src` folder

#: the per-packet path of the security monitor: capture, decoding, reassembly, the four
#: binary ICS dissectors of the benchmark, inventory bookkeeping and the detector's loop
NATIVE_MODULES = (
    "isthmus.security.events",
    "isthmus.security.packets",
    "isthmus.security.reassembly",
    "isthmus.security.streams",
    "isthmus.security.monitor",
    "isthmus.security.capture.pcap",
    "isthmus.security.detect.engine",
    "isthmus.security.dissectors.framed_session",
    "isthmus.security.dissectors.recognition",
    "isthmus.security.dissectors.modbus",
    "isthmus.security.dissectors.dnp3",
    "isthmus.security.dissectors.s7",
    "isthmus.security.dissectors.enip",
)

_SRC = Path(__file__).resolve().parent.parent
_EXTENSION_SUFFIXES = tuple(importlib.machinery.EXTENSION_SUFFIXES)


def compiled_files(src: Path = _SRC) -> list[Path]:
    """Every compiled module file under `src` (the package's and mypyc's shared library)."""
    found = {p for suffix in _EXTENSION_SUFFIXES for p in (src / "isthmus").rglob(f"*{suffix}")}
    found.update(p for suffix in _EXTENSION_SUFFIXES for p in src.glob(f"*__mypyc{suffix}"))
    return sorted(found)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _compiled_sources(src: Path) -> list[Path]:
    """The sources that have a compiled module beside them."""
    sources = []
    for path in compiled_files(src):
        name = path.name
        for suffix in _EXTENSION_SUFFIXES:
            if name.endswith(suffix):
                source = path.with_name(name[: -len(suffix)] + ".py")
                if source.exists():
                    sources.append(source)
                break
    return sources


def write_manifest(src: Path = _SRC) -> None:
    """Record the digest of every compiled module's source (run right after a build)."""
    digests = {str(p.relative_to(src)): _digest(p) for p in _compiled_sources(src)}
    (src / MANIFEST).write_text(json.dumps(digests, indent=1, sort_keys=True) + "\n")


def stale_sources(src: Path = _SRC) -> list[str]:
    """Sources edited since they were compiled (or compiled without a manifest)."""
    names = [str(p.relative_to(src)) for p in _compiled_sources(src)]
    if not names:
        return []
    try:
        recorded = json.loads((src / MANIFEST).read_text())
    except (OSError, ValueError):
        return names
    return [name for name in names if recorded.get(name) != _digest(src / name)]


def is_compiled(module: ModuleType) -> bool:
    """Whether `module` was loaded from a compiled extension."""
    return str(getattr(module, "__file__", "")).endswith(_EXTENSION_SUFFIXES)


class _SourceFinder(importlib.abc.MetaPathFinder):
    """Finds `isthmus.*` modules among sources only, never among compiled extensions."""

    def find_spec(self, fullname: str, path: Sequence[str] | None,
                  target: ModuleType | None = None) -> importlib.machinery.ModuleSpec | None:
        if not fullname.startswith("isthmus.") or path is None:
            return None
        loader = (importlib.machinery.SourceFileLoader, importlib.machinery.SOURCE_SUFFIXES)
        for entry in path:
            spec = importlib.machinery.FileFinder(entry, loader).find_spec(fullname)
            if spec is not None:
                return spec
        return None


def prefer_sources() -> None:
    """Import `isthmus` modules from their sources from now on (idempotent)."""
    if not any(isinstance(f, _SourceFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _SourceFinder())
