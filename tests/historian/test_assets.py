"""The asset table, on SQLite and PostgreSQL alike: upsert keeps the earliest first seen,
the latest last seen, never erases a known field, and a configured asset stays configured."""

from __future__ import annotations

from isthmus.historian.assets import open_asset_store
from isthmus.model import Asset

S = 1_000_000_000
T0 = 1_700_000_000 * S


def _plc(**changes: object) -> Asset:
    base = dict(id="line1-plc", name="line1-plc", kind="plc", ip="10.0.0.1",
                uns_path="acme/lyon/packaging/line1", origin="configured",
                properties={"port": 502, "units": {"1": "acme/lyon/packaging/line1/conveyor"}})
    base.update(changes)
    return Asset(**base)  # type: ignore[arg-type]


def test_assets_round_trip_with_their_properties(historian_url: str) -> None:
    seen = Asset(id="ip:10.0.0.9", name="10.0.0.9", kind="hmi", vendor="Example Inc.",
                 ip="10.0.0.9", mac="ac:de:48:00:00:09", first_seen=T0, last_seen=T0 + S,
                 origin="discovered", properties={"role_reasons": ["polls 2 controllers"]})
    with open_asset_store(historian_url) as store:
        store.upsert([_plc(), seen])
        assert store.assets() == [seen, _plc()]          # ordered by id


def test_upsert_widens_first_and_last_seen(historian_url: str) -> None:
    with open_asset_store(historian_url) as store:
        store.upsert([_plc(first_seen=T0 + 10 * S, last_seen=T0 + 20 * S)])
        store.upsert([_plc(first_seen=T0 + 5 * S, last_seen=T0 + 15 * S)])
        store.upsert([_plc(first_seen=T0 + 12 * S, last_seen=T0 + 30 * S)])
        [asset] = store.assets()
    assert (asset.first_seen, asset.last_seen) == (T0 + 5 * S, T0 + 30 * S)


def test_never_seen_then_seen_takes_the_times(historian_url: str) -> None:
    with open_asset_store(historian_url) as store:
        store.upsert([_plc()])
        store.upsert([_plc(first_seen=T0, last_seen=T0 + S)])
        [asset] = store.assets()
    assert (asset.first_seen, asset.last_seen) == (T0, T0 + S)


def test_an_empty_field_never_erases_a_known_one(historian_url: str) -> None:
    with open_asset_store(historian_url) as store:
        store.upsert([_plc(vendor="Acme", firmware="2.4.1", mac="02:00:00:00:00:01")])
        store.upsert([_plc(firmware="2.5.0")])
        [asset] = store.assets()
    assert (asset.vendor, asset.firmware, asset.mac) == ("Acme", "2.5.0", "02:00:00:00:00:01")


def test_a_configured_asset_stays_configured(historian_url: str) -> None:
    with open_asset_store(historian_url) as store:
        store.upsert([_plc()])
        store.upsert([_plc(origin="discovered", kind="plc")])
        [asset] = store.assets()
    assert asset.origin == "configured"


def test_the_table_survives_reopening(historian_url: str) -> None:
    with open_asset_store(historian_url) as store:
        store.upsert([_plc()])
    with open_asset_store(historian_url) as store:
        assert [a.id for a in store.assets()] == ["line1-plc"]
