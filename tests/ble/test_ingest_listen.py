"""A sleepy button's listen advert is a known kind: accepted, counted by name, the button's last
seen moved on; malformed ones rejected with a reason; every advert accounted for exactly once."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from device import gatt, sleep
from hub.ble.ingest import AdvertIngest
from hub.clock import ManualClock
from hub.store.buttons import ButtonRegistry
from hub.store.database import Database, open_database
from tests.ble.test_ingest_fuzz import EXAMPLES

ADDRESS = "C0:FF:EE:00:00:0B"
KEY = bytes.fromhex("000102030405060708090a0b0c0d0e0f")
START = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = open_database(tmp_path)
    ButtonRegistry(database).upsert(ADDRESS, "heartline", KEY, "Sam")
    try:
        yield database
    finally:
        database.close()


def listen_advert(data: bytes, rssi: int = -61) -> AdvertisementData:
    return AdvertisementData("HL", {}, {gatt.SERVICE_UUID: data}, [], None, rssi, ())


def feed(ingest: AdvertIngest, data: bytes) -> None:
    before = ingest.adverts_seen, sum(ingest.rejected.values()) + sum(ingest.accepted.values())
    ingest.on_advert(BLEDevice(ADDRESS, "HL", None), listen_advert(data))
    assert ingest.process_pending() == []  # never a touch
    after = ingest.adverts_seen, sum(ingest.rejected.values()) + sum(ingest.accepted.values())
    assert (after[0] - before[0], after[1] - before[1]) == (1, 1)  # accounted for exactly once


def test_a_listen_advert_is_accepted_and_moves_the_buttons_last_seen(db: Database) -> None:
    clock = ManualClock(START)
    registry = ButtonRegistry(db)
    ingest = AdvertIngest(registry, clock)
    clock.advance(3 * 3600.0)
    feed(ingest, sleep.listen_data(60))
    assert ingest.accepted["listen"] == 1
    assert "not_bthome" not in ingest.rejected
    ingest.flush()
    record = registry.by_address(ADDRESS)
    assert record is not None
    assert record.last_seen == START + timedelta(hours=3)
    assert record.rssi == -61
    assert record.advert_counter == -1  # a listen advert carries no counter: replay state unmoved


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "listen_malformed"),
        (b"\x01\x3c", "listen_malformed"),
        (b"\x02\x3c\x00", "listen_version"),
        (b"\x01\x05\x00", "listen_period"),
        (b"\x01\x11\x0e", "listen_period"),  # 3601 s
    ],
)
def test_a_malformed_listen_advert_is_rejected_with_its_reason(
    db: Database, data: bytes, reason: str
) -> None:
    registry = ButtonRegistry(db)
    ingest = AdvertIngest(registry, ManualClock(START))
    feed(ingest, data)
    assert ingest.rejected == {reason: 1}
    assert ingest.accepted["listen"] == 0
    ingest.flush()
    record = registry.by_address(ADDRESS)
    assert record is not None
    assert record.last_seen is None


@pytest.mark.slow  # hundreds of generated adverts
@settings(max_examples=EXAMPLES, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(data=st.one_of(st.binary(max_size=24), st.builds(sleep.listen_data, st.integers(0, 0xFFFF))))
def test_random_listen_records_never_crash_and_are_counted_once(db: Database, data: bytes) -> None:
    ingest = AdvertIngest(ButtonRegistry(db), ManualClock(START))
    feed(ingest, data)
    assert (ingest.accepted["listen"] == 1) == (sleep.parse_listen(data) is not None)
