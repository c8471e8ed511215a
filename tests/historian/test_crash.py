"""A writer killed with SIGKILL mid-stream loses no committed sample and leaves a sound file."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import numpy as np
import pytest

from isthmus.historian import open_historian

T0 = 1_700_000_000 * 10**9
STEPS = 200  # timestamps per tag per batch
TAGS = 10

WRITER = f"""
import sys
import numpy as np
from isthmus.historian import open_historian
from isthmus.model import SampleBatch, Tag

h = open_historian(sys.argv[1])
h.register_tags([Tag(f"acme/plant/area/line1/cell/asset/s{{i}}") for i in range({TAGS})])
for b in range(100_000):
    ts = {T0} + (b * {STEPS} + np.arange({STEPS}, dtype=np.int64)) * 1_000_000
    h.write(SampleBatch.of(np.repeat(np.arange(1, {TAGS + 1}), {STEPS}),
                           np.tile(ts, {TAGS}), np.tile(ts.astype(float), {TAGS})))
    print(b + 1, flush=True)  # batches committed so far
"""


@pytest.mark.slow
def test_sigkill_mid_stream_loses_no_committed_sample(tmp_path: Path):
    db = tmp_path / "h.db"
    with subprocess.Popen([sys.executable, "-c", WRITER, f"sqlite:///{db}"],
                          stdout=subprocess.PIPE, text=True) as child:
        assert child.stdout is not None
        committed = 0
        for line in child.stdout:
            committed = int(line)
            if committed >= 40:
                break
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
        for line in child.stdout.read().split():  # printed before the kill landed
            committed = int(line)
    assert child.returncode == -signal.SIGKILL
    assert committed >= 40

    with closing(sqlite3.connect(db)) as raw_db:
        assert raw_db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    h = open_historian(f"sqlite:///{db}")
    try:
        expected = T0 + np.arange(committed * STEPS, dtype=np.int64) * 1_000_000
        for i in range(TAGS):
            got = h.raw(f"acme/plant/area/line1/cell/asset/s{i}", T0, int(expected[-1]) + 1)
            np.testing.assert_array_equal(got.ts, expected)
            np.testing.assert_array_equal(got.value, expected.astype(float))
    finally:
        h.close()
