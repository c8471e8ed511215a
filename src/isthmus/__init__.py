"""Isthmus: an IT/OT convergence platform."""

import os

if os.environ.get("ISTHMUS_PURE_PYTHON"):      # ignore the modules `make native` compiled
    from isthmus.native import prefer_sources

    prefer_sources()
