"""Button care: a low battery or a day of silence reaches the owner once, on the phone (a real
apprise post to the notify sink) and on the page (the bus, /api/buttons), on the hub's clock."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData

from hub.ble.care import ButtonCare, CaredButton
from hub.bus import ButtonUpdate, Update, UpdateBus
from hub.clock import ManualClock
from hub.delivery.phone import PhoneNotifier
from hub.store.buttons import ButtonRecord, ButtonRegistry
from hub.store.database import Database, open_database
from hub.store.meta import MetaStore
from hub.web.api import hub_app
from tests.support.homes import two_homes
from tests.support.mosquitto import Broker
from tests.support.notify_sink import NotifySink
from tests.support.waiting import eventually

ADDRESS = "C0:FF:EE:00:00:0A"
START = datetime(2026, 11, 28, 14, 2, tzinfo=UTC)
HOUR_S = 3600.0


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = open_database(tmp_path / "hub")
    try:
        yield database
    finally:
        database.close()


class World:
    def __init__(self, db: Database, sink: NotifySink) -> None:
        self.db = db
        self.clock = ManualClock(START)
        self.registry = ButtonRegistry(db)
        self.button = self.registry.upsert(ADDRESS, "heartline", bytes(16), "Alex")
        self.phone = PhoneNotifier([sink.apprise_url])
        self.bus = UpdateBus()
        self.counter = 0

    def care(self) -> ButtonCare:
        return ButtonCare(self.registry, self.clock, self.phone, self.bus, MetaStore(self.db))

    def touched(self, battery: int) -> None:
        """A touch heard now, reporting this battery level (what ingest stores)."""
        self.counter += 1
        self.registry.record_seen(self.button.id, self.counter, self.clock.now(), battery=battery, rssi=-60)


@pytest.fixture
def world(db: Database, notify_sink: NotifySink) -> World:
    return World(db, notify_sink)


@pytest.fixture
async def updates(world: World) -> AsyncIterator[asyncio.Queue[Update]]:
    async with world.bus.subscribe() as queue:
        yield queue


def alert_of(care: ButtonCare, world: World) -> tuple[str | None, str | None]:
    (record,) = care.cared(world.registry.all())
    assert isinstance(record, CaredButton)
    return (record.alert.kind.value, record.alert.text) if record.alert else (None, None)


def drained(queue: asyncio.Queue[Update]) -> list[Update]:
    out = []
    while not queue.empty():
        out.append(queue.get_nowait())
    return out


async def test_a_low_battery_is_told_once_and_rearms_after_a_recovery(
    world: World, notify_sink: NotifySink, updates: asyncio.Queue[Update]
) -> None:
    care = world.care()
    world.touched(battery=50)
    assert await care.check() == []
    world.touched(battery=18)
    (raised,) = await care.check()
    assert raised.kind == "low_battery"
    assert raised.text == "battery low (18 %): charge or replace it soon"
    assert [(n["title"], n["message"]) for n in notify_sink.received] == [
        ("Alex's button", "Battery low (18 %): charge or replace it soon.")
    ]
    assert drained(updates) == [
        ButtonUpdate(world.button.id, "Alex", "low_battery", "battery low (18 %): charge or replace it soon")
    ]
    for still_low in (15, 25, 19, 29):  # below the recovery level, however it wobbles: no repeat
        world.touched(battery=still_low)
        assert await care.check() == []
    assert len(notify_sink.received) == 1
    assert alert_of(care, world) == ("low_battery", "battery low (29 %): charge or replace it soon")
    world.touched(battery=30)  # charged: the alert clears, and the page hears so
    assert await care.check() == []
    assert alert_of(care, world) == (None, None)
    assert [u.to_json()["alert"] for u in drained(updates)] == [None]
    world.touched(battery=20)  # low again: a new alert, a new notification
    assert [a.kind for a in await care.check()] == ["low_battery"]
    assert len(notify_sink.received) == 2


async def test_a_button_silent_for_a_day_is_not_heard_until_it_is_heard_again(
    world: World, notify_sink: NotifySink, updates: asyncio.Queue[Update]
) -> None:
    care = world.care()
    world.touched(battery=80)
    world.clock.advance(23 * HOUR_S)
    assert await care.check() == []
    world.clock.advance(HOUR_S)
    (raised,) = await care.check()
    assert raised.kind == "not_heard"
    assert raised.text == "not heard since 28 Nov 14:02: is it in range and charged?"
    assert [n["message"] for n in notify_sink.received] == [
        "Not heard since 28 Nov 14:02: is it in range and charged?"
    ]
    world.clock.advance(HOUR_S)
    assert await care.check() == []  # still silent: nothing more
    world.touched(battery=80)
    assert await care.check() == []
    assert alert_of(care, world) == (None, None)
    assert [u.to_json()["alert"] for u in drained(updates)] == ["not_heard", None]
    assert len(notify_sink.received) == 1


async def test_idle_adverts_count_as_heard(world: World, notify_sink: NotifySink) -> None:
    care = world.care()
    world.touched(battery=80)
    assert await care.check() == []  # care learns which buttons it watches
    for _ in range(3):  # no touch for three days, but its idle advert every so often
        world.clock.advance(20 * HOUR_S)
        idle = AdvertisementData("HL", {}, {}, [], None, -70, ())
        care.on_advert(BLEDevice(ADDRESS, "HL", None), idle)
        assert await care.check() == []
    assert notify_sink.received == []


async def test_a_restart_neither_repeats_nor_clears_what_was_told(
    world: World, notify_sink: NotifySink
) -> None:
    care = world.care()
    world.touched(battery=10)
    world.clock.advance(25 * HOUR_S)
    assert sorted(a.kind for a in await care.check()) == ["low_battery", "not_heard"]
    assert len(notify_sink.received) == 2
    again = world.care()  # the hub restarted: it has heard no idle advert yet
    assert await again.check() == []
    assert alert_of(again, world) == (
        "not_heard",
        "not heard since 28 Nov 14:02: is it in range and charged?",
    )
    assert len(notify_sink.received) == 2


async def test_a_button_never_heard_counts_from_when_care_first_saw_it(world: World) -> None:
    care = world.care()
    assert await care.check() == []
    world.clock.advance(24 * HOUR_S)
    (raised,) = await care.check()
    assert raised.text == "not heard since 28 Nov 14:02: is it in range and charged?"


async def test_the_api_lists_each_buttons_alert(mosquitto_broker: Broker, tmp_path: Path) -> None:
    """A real hub and its real button: a touch on a low cell shows on /api/buttons."""
    async with two_homes(mosquitto_broker, tmp_path) as homes:
        hub = homes.hub_a
        assert hub.care is not None
        app = hub_app(hub)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1"
        ) as http:
            # Alex's own button (Sam's, shared by Sam's hub for visits, is Sam's hub's to care for).
            (listed,) = [b for b in (await http.get("/api/buttons")).json() if b["owner"] == "Alex"]
            assert (listed["alert"], listed["alert_text"]) == (None, None)
            homes.button_a.set_battery(3600)  # about 15 %
            await homes.button_a.press("tap")

            def stored_battery() -> ButtonRecord | None:
                hub.ble.ingest.flush()
                (record,) = hub.ble.registry.by_owner("Alex")
                return record if record.battery is not None and record.battery <= 20 else None

            await eventually(stored_battery, what="the touch's battery level to be stored")
            await hub.care.check()
            (listed,) = [b for b in (await http.get("/api/buttons")).json() if b["owner"] == "Alex"]
            assert listed["alert"] == "low_battery"
            assert listed["alert_text"] == f"battery low ({listed['battery']} %): charge or replace it soon"
