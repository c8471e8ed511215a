"""The site file's `opcua_servers` section: validated at load, names shared with devices."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from isthmus.config.schema import SiteConfig
from isthmus.connectors.opcua import build_config_watches

MODBUS: dict[str, object] = {"name": "line1-plc", "host": "127.0.0.1",
          "units": [{"unit_id": 1, "path": "packaging/line1/cell1/plc"}]}


def site(*servers: dict[str, object], devices: list[dict[str, object]] | None = None,
         ) -> SiteConfig:
    return SiteConfig.model_validate({"enterprise": "acme", "site": "lyon",
                                      "devices": devices or [],
                                      "opcua_servers": list(servers)})


def server(**fields: object) -> dict[str, object]:
    return {"name": "scada", "endpoint": "opc.tcp://10.0.0.5:4840", "asset": "a/b/c/d",
            **fields}


def test_config_integrity_is_on_by_default_hourly() -> None:
    (watched,) = site(server()).opcua_servers
    assert watched.config_integrity is not None
    assert watched.config_integrity.every == 3600.0


@pytest.mark.parametrize(("endpoint", "why"), [
    ("http://10.0.0.5:4840", "pattern"),
    ("opc.tcp://10.0.0.5", "pattern"),
    ("opc.tcp://10.0.0.5:70000", "out of range 1–65535"),
])
def test_a_bad_endpoint_is_refused_naming_it(endpoint: str, why: str) -> None:
    with pytest.raises(ValidationError, match=why) as info:
        site(server(endpoint=endpoint))
    assert "opcua_servers.0.endpoint" in str(info.value)


def test_a_name_used_by_a_modbus_device_is_refused() -> None:
    with pytest.raises(ValidationError, match="'line1-plc' is already used"):
        site(server(name="line1-plc"), devices=[MODBUS])


def test_one_watch_per_server_with_config_integrity() -> None:
    config = site(server(), server(name="historian-ua", config_integrity=None))
    watches = build_config_watches(config)
    assert [w.name for w in watches] == ["opcua:scada"]


@given(st.from_regex(r"[a-z0-9][a-z0-9.-]{0,30}", fullmatch=True),
       st.integers(min_value=0, max_value=99999), st.sampled_from(["", "/", "/ua/server"]))
def test_an_endpoint_is_accepted_exactly_when_its_port_is_in_range(
        host: str, port: int, path: str) -> None:
    endpoint = f"opc.tcp://{host}:{port}{path}"
    try:
        (watched,) = site(server(endpoint=endpoint)).opcua_servers
    except ValidationError as exc:
        assert not 1 <= port <= 65535, exc
        assert "out of range 1–65535" in str(exc)
    else:
        assert 1 <= port <= 65535
        assert watched.endpoint == endpoint
