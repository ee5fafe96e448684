"""The path a Raspberry Pi takes: the hub's BLE side on ``bluez:hci0``, through bleak's own BlueZ
backend, a fake ``org.bluez`` on a private D-Bus, and the simulated air, to a real-firmware button.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Final

import pytest

from firmware_sim.air.server import AirServer
from firmware_sim.bluez import FakeBlueZ
from firmware_sim.button import SimButton
from hub.app.ble_side import BleOptions, BleSide, open_ble_side
from hub.ble.ingest import AdvertIngest
from hub.ble.transport import BlueZTransport, make_transport
from hub.clock import SystemClock
from hub.events import Direction, Gesture, SignalKind, TouchEvent
from hub.heartbeats import Heartbeats
from hub.store.database import Database, open_database
from hub.tasks import running
from tests.support.dbus import HUB_RADIO
from tests.support.homes import homes_on
from tests.support.mosquitto import Broker
from tests.support.waiting import WAIT_S, eventually

ADDRESS: Final = "C0:FF:EE:00:00:0A"
KEY: Final = bytes.fromhex("000102030405060708090a0b0c0d0e0f")
# A touch travels advert -> BlueZ -> bleak -> ingest in well under a second; the bounds are for
# a machine busy with other work.
EVENT_TIMEOUT_S: Final = WAIT_S
FEEDBACK_TIMEOUT_S: Final = WAIT_S

# A private dbus-daemon, a fake bluetoothd and (in one test) two hubs: seconds each, more when
# the machine is busy.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]


@pytest.fixture
async def button(bluez_air: AirServer, tmp_path: Path) -> AsyncIterator[SimButton]:
    async with SimButton(
        air=bluez_air.address, address=ADDRESS, key=KEY, x=2.0, state_dir=tmp_path / "button"
    ) as sim:
        yield sim


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Database]:
    db = open_database(tmp_path / "hub")
    try:
        yield db
    finally:
        db.close()


async def first_event(ingest: AdvertIngest) -> TouchEvent:
    async with asyncio.timeout(EVENT_TIMEOUT_S):
        async for event in ingest.events():
            return event
    raise AssertionError("the ingest stopped without an event")


@contextlib.asynccontextmanager
async def bluez_side(database: Database) -> AsyncIterator[BleSide]:
    """The hub's BLE side on ``bluez:hci0``, as ``heartline hub`` builds it on a Pi."""
    transport = make_transport("bluez:hci0")
    assert isinstance(transport, BlueZTransport)
    options = BleOptions(feedback_timeout_s=FEEDBACK_TIMEOUT_S)
    async with (
        open_ble_side(transport, database, SystemClock(), Heartbeats(), options=options) as side,
        running(side),
    ):
        yield side


async def test_a_tap_is_decoded_from_adverts_that_came_through_bluez(
    fake_bluez: FakeBlueZ,
    button: SimButton,
    database: Database,
) -> None:
    async with bluez_side(database) as side:
        record = side.add_button(ADDRESS, "heartline", KEY, "Alex")
        await eventually(lambda: fake_bluez.discovering, what="the hub's scan to start")
        await button.press("tap")
        event = await first_event(side.ingest)
        assert side.ingest.rejected["bad_mic"] == 0
    assert event.gesture is Gesture.TAP
    assert event.button_id == record.id
    assert event.address == ADDRESS
    assert -90 < event.rssi < -20


async def test_feedback_is_written_over_bluez_while_the_hub_scans(
    fake_bluez: FakeBlueZ,
    button: SimButton,
    database: Database,
) -> None:
    async with bluez_side(database) as side:  # the hub never stops scanning
        record = side.add_button(ADDRESS, "heartline", KEY, "Alex")
        await eventually(
            lambda: fake_bluez.device_properties(ADDRESS) is not None,
            what="BlueZ to know the button from its idle advert",
        )
        await side.feedback.send(record, SignalKind.THINKING_OF_YOU)
        played = await button.wait_for_output()
    assert played.pattern == "thinking_of_you"
    assert not fake_bluez.is_connected(ADDRESS)


async def test_a_tap_read_over_bluez_reaches_the_partners_button(
    fake_bluez: FakeBlueZ,
    bluez_air: AirServer,
    mosquitto_broker: Broker,
    tmp_path: Path,
) -> None:
    # Home A's hub runs exactly as on a Pi (ble.transport = "bluez:hci0", DBUS_SYSTEM_BUS_ADDRESS
    # set by the fixture); home B's hub is on the simulated transport. One process has one
    # system bus, and bluetoothd gives each D-Bus client one discovery, so only one hub can be
    # the BlueZ one here: on real hardware the two hubs are two Pis.
    del fake_bluez
    async with homes_on(
        bluez_air, mosquitto_broker, tmp_path, radio_a=HUB_RADIO, transport_a="bluez:hci0"
    ) as homes:
        assert isinstance(homes.hub_a.ble.transport, BlueZTransport)
        hub_b, button_a, button_b = homes.hub_b, homes.button_a, homes.button_b
        await button_a.press("tap")
        received = await eventually(
            lambda: [s for s in hub_b.recent_signals() if s.direction is Direction.RECEIVED],
            what="B's hub to store the signal A's hub read over BlueZ",
        )
        assert received[0].kind is SignalKind.THINKING_OF_YOU
        assert received[0].sender == "Alex"
        feedback = await eventually(lambda: button_b.outputs, what="B's button to buzz")
        assert feedback[0].pattern == "thinking_of_you"
