"""BLE ingest: real BTHome adverts from the firmware's codec become touch events exactly once;
everything else is rejected and counted under one reason."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData
from bthome_ble import DeviceKey, SensorUpdate, SensorValue
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from sensor_state_data import Event

from device import bthome, command
from hub.ble.ingest import BTHOME_UUID, QUEUE_SIZE, AdvertIngest, _battery, _gesture
from hub.clock import ManualClock
from hub.events import Gesture
from hub.store.buttons import ButtonRegistry
from hub.store.database import open_database

ADDRESS = "C0:FF:EE:00:00:0A"
KEY = bytes.fromhex("000102030405060708090a0b0c0d0e0f")


def _service_data(counter: int, event: int = bthome.EVENT_PRESS, key: bytes = KEY) -> bytes:
    """What the firmware sends for its ``counter``-th event (packet id follows the event)."""
    encrypt = Cipher(algorithms.AES(key), modes.ECB()).encryptor().update
    return bthome.service_data(encrypt, command.mac_bytes(ADDRESS), counter, counter & 0xFF, 87, event)


def _advert(service_data: bytes | None, rssi: int = -60) -> AdvertisementData:
    return AdvertisementData(
        local_name="HL",
        manufacturer_data={},
        service_data={} if service_data is None else {BTHOME_UUID: service_data},
        service_uuids=[],
        tx_power=None,
        rssi=rssi,
        platform_data=(),
    )


@pytest.fixture
def ingest(tmp_path: Path) -> Iterator[AdvertIngest]:
    db = open_database(tmp_path)
    ButtonRegistry(db).upsert(ADDRESS, "heartline", KEY, "Alex")
    try:
        yield AdvertIngest(ButtonRegistry(db), ManualClock(datetime(2026, 1, 1, tzinfo=UTC)))
    finally:
        db.close()


def _hear(ingest: AdvertIngest, data: bytes | None, address: str = ADDRESS) -> None:
    ingest.on_advert(BLEDevice(address, "HL", None), _advert(data))


async def test_a_tap_becomes_one_event_with_gesture_owner_battery_and_rssi(ingest: AdvertIngest) -> None:
    data = _service_data(counter=7)
    for _ in range(5):  # the firmware repeats each event advert in a burst
        _hear(ingest, data)
    events = ingest.process_pending()
    assert len(events) == 1
    event = events[0]
    assert (event.gesture, event.owner, event.battery, event.rssi, event.counter) == (
        Gesture.TAP,
        "Alex",
        87,
        -60,
        7,
    )
    assert ingest.rejected == {"duplicate": 4}


@pytest.mark.parametrize(
    ("event", "gesture"),
    [(bthome.EVENT_DOUBLE_PRESS, Gesture.DOUBLE_TAP), (bthome.EVENT_LONG_PRESS, Gesture.LONG_PRESS)],
)
async def test_every_gesture_is_recognised(ingest: AdvertIngest, event: int, gesture: Gesture) -> None:
    _hear(ingest, _service_data(counter=1, event=event))
    assert [e.gesture for e in ingest.process_pending()] == [gesture]


async def test_replays_wrong_keys_downgrades_and_strangers_are_rejected_by_reason(
    ingest: AdvertIngest,
) -> None:
    _hear(ingest, _service_data(counter=10))
    assert len(ingest.process_pending()) == 1

    _hear(ingest, _service_data(counter=9))  # an old advert replayed
    _hear(ingest, _service_data(counter=11, key=bytes(16)))  # a spoofer without the key
    tampered = bytearray(_service_data(counter=12))
    tampered[2] ^= 0x01
    _hear(ingest, bytes(tampered))  # a flipped ciphertext bit
    _hear(ingest, bytes((0x40, 0x00, 0x01, 0x3A, 0x01)))  # plaintext BTHome from a keyed button
    _hear(ingest, bytes((0x41, 0x00)))  # too short to carry counter and MIC
    _hear(ingest, _service_data(counter=13), address="11:22:33:44:55:66")  # not registered
    _hear(ingest, None)  # an advert without BTHome service data

    assert ingest.process_pending() == []
    assert ingest.rejected == {
        "replay": 1,
        "bad_mic": 2,
        "downgrade": 1,
        "malformed": 1,
        "unknown_device": 1,
        "not_bthome": 1,
    }
    # The spoofed high counters did not move the replay window: the real next event still counts.
    _hear(ingest, _service_data(counter=11))
    assert len(ingest.process_pending()) == 1


async def test_a_flood_is_bounded_and_counted(ingest: AdvertIngest) -> None:
    data = _service_data(counter=1)
    for _ in range(QUEUE_SIZE + 50):
        _hear(ingest, data)
    assert ingest.queue_depth == QUEUE_SIZE
    assert ingest.rejected["queue_full"] == 50
    assert len(ingest.process_pending()) == 1


async def test_replay_protection_survives_a_restart_once_flushed(tmp_path: Path) -> None:
    db = open_database(tmp_path / "restart")
    try:
        registry = ButtonRegistry(db)
        registry.upsert(ADDRESS, "heartline", KEY, "Alex")
        clock = ManualClock(datetime(2026, 1, 1, tzinfo=UTC))
        first = AdvertIngest(registry, clock)
        _hear(first, _service_data(counter=30))
        assert len(first.process_pending()) == 1
        first.flush()
        assert registry.by_address(ADDRESS).advert_counter == 30  # type: ignore[union-attr]

        after_restart = AdvertIngest(registry, clock)
        _hear(after_restart, _service_data(counter=30))
        _hear(after_restart, _service_data(counter=29))
        assert after_restart.process_pending() == []
        assert after_restart.rejected == {"duplicate": 1, "replay": 1}
    finally:
        db.close()


def test_gesture_and_battery_come_from_bthome_bles_typed_update() -> None:
    dimmer = Event(DeviceKey("dimmer"), "Dimmer", "rotate_left", None)
    press = Event(DeviceKey("button"), "Button", "long_press", None)
    battery = SensorValue(DeviceKey("battery"), "Battery", 64)
    second_battery = SensorValue(DeviceKey("battery_2"), "Battery 2", 12)
    update = SensorUpdate(
        title=None,
        devices={},
        entity_values={v.device_key: v for v in (second_battery, battery)},
        events={e.device_key: e for e in (dimmer, press)},
    )
    assert (_gesture(update), _battery(update)) == (Gesture.LONG_PRESS, 64)
    empty = SensorUpdate(title=None, devices={})
    assert (_gesture(empty), _battery(empty)) == (None, None)
