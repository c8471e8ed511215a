"""Shared fixtures for the simulator tests: the example plant, moved to loopback addresses
and ports of the tests' own so that nothing else listening on this machine collides."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from isthmus.config import load_site
from isthmus.config.schema import SiteConfig

EXAMPLE = Path(__file__).parents[2] / "examples" / "packaging-plant.yaml"


def free_port(host: str) -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def relocate(site: SiteConfig, host_base: str) -> SiteConfig:
    """The same site with device i listening on host_base+i, on a free port."""
    return site.on_hosts(host_base, port_of=free_port)


@pytest.fixture(scope="session")
def example_site() -> SiteConfig:
    return load_site(EXAMPLE)


@pytest.fixture
def served_site(example_site: SiteConfig) -> SiteConfig:
    return relocate(example_site, "127.0.71.")
