"""A PostgreSQL cluster of the test's own is stopped mid-stream and started again: every
sample arrives exactly once, in the order written."""

from __future__ import annotations

import glob
import random
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import psycopg
import pytest

from isthmus.historian import BufferedHistorian
from isthmus.model import SampleBatch
from tests.historian.conftest import tag

S = 1_000_000_000
T0 = 1_700_000_000 * S
BIN = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))

pytestmark = [pytest.mark.postgres, pytest.mark.slow,
              pytest.mark.skipif(not BIN, reason="PostgreSQL's initdb is not installed "
                                 "(apt-get install postgresql)")]


class Cluster:
    def __init__(self, root: Path, port: int) -> None:
        self.bin = Path(BIN[-1]).parent
        self.root, self.data, self.port = root, root / "data", port
        self.url = f"postgresql://postgres@127.0.0.1:{port}/postgres"

    def run(self, tool: str, *args: str) -> None:
        subprocess.run(["runuser", "-u", "postgres", "--", str(self.bin / tool), *args],
                       check=True, capture_output=True, timeout=120)

    def init(self) -> None:
        self.run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "--no-sync")

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        self.run("pg_ctl", "-D", str(self.data), "-o", options, "-l",
                 str(self.root / "log"), "-w", "start")

    def stop_immediately(self) -> None:
        self.run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")


def free_port() -> int:
    for _ in range(50):
        port = 55432 + random.randrange(1000)
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) != 0:
                return port
    raise RuntimeError("no free port in 55432-56431")


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    root = Path(tempfile.mkdtemp(prefix="isthmus-pg-"))
    shutil.chown(root, "postgres", "postgres")
    c = Cluster(root, free_port())
    c.init()
    c.start()
    try:
        yield c
    finally:
        subprocess.run(["runuser", "-u", "postgres", "--", str(c.bin / "pg_ctl"), "-D",
                        str(c.data), "-m", "immediate", "stop"], capture_output=True, timeout=60)
        shutil.rmtree(root, ignore_errors=True)


def batch(i: int, tag_id: int) -> SampleBatch:
    n = 1000 * i + np.arange(1000)
    return SampleBatch.of(np.full(1000, tag_id), T0 + n * S // 10, n.astype(float))


def test_cluster_stopped_mid_stream_gets_every_sample_once_in_order(cluster: Cluster,
                                                                    tmp_path: Path):
    h = BufferedHistorian(f"{cluster.url}?schema=plant", tmp_path / "buffer",
                          retry_interval_s=0.1)
    tid = h.register_tags([tag("flow")]).id_of(tag("flow").path)
    for i in range(10):
        h.write(batch(i, tid))
    cluster.stop_immediately()
    for i in range(10, 20):
        h.write(batch(i, tid))
    assert h.stats().backlog_batches == 10
    cluster.start()
    for i in range(20, 30):
        h.write(batch(i, tid))
    stats = h.stats()
    assert (stats.backlog_batches, stats.replayed_batches, stats.buffered_samples) == \
           (0, 10, 10_000)

    values = h.raw(tag("flow").path, 0, 2 * T0).value
    np.testing.assert_array_equal(values, np.arange(30_000.0))
    assert h.sample_count() == 30_000
    h.close()
    with psycopg.connect(cluster.url) as pg:  # blocks were committed in the order written
        firsts = [r[0] for r in pg.execute("SELECT min_ts FROM plant.blocks ORDER BY id")]
    assert firsts == sorted(firsts)
    assert len(firsts) == 30
