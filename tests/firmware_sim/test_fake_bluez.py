"""bleak's own BlueZ backend against the fake ``org.bluez`` on a private bus, over the air.

No ``backend=`` anywhere: these are exactly the calls bleak makes on a Raspberry Pi.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Final

import pytest
from bleak import BleakClient, BleakScanner
from bleak.args.bluez import BlueZClientArgs, BlueZScannerArgs
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData
from bleak.exc import BleakDBusError
from dbus_fast import Message, MessageType
from dbus_fast.aio import MessageBus

from device import bthome, command
from firmware_sim.air.server import AirServer
from firmware_sim.bleak_backend.advertising import parse_advertisement
from firmware_sim.bluez import FakeBlueZ, PrivateBus
from firmware_sim.bluez.service import ERROR_IN_PROGRESS, ERROR_NOT_READY
from firmware_sim.button import SimButton
from firmware_sim.shims.cryptolib import aes
from hub.ble.feedback import await_outcome, parse_state
from tests.support.dbus import HUB_RADIO
from tests.support.waiting import eventually

# A private dbus-daemon and the fake bluetoothd for each test.
pytestmark = pytest.mark.slow

ADDRESS: Final = "C0:FF:EE:00:00:0A"
KEY: Final = bytes.fromhex("000102030405060708090a0b0c0d0e0f")
BTHOME_UUID: Final = "0000fcd2-0000-1000-8000-00805f9b34fb"
COMMAND_CHAR: Final = "f1e00002-5d6b-4c8e-9a3b-48454152544c"
STATE_CHAR: Final = "f1e00003-5d6b-4c8e-9a3b-48454152544c"
SCAN_ON_HCI0: Final = BlueZScannerArgs(adapter="hci0")
CLIENT_ON_HCI0: Final = BlueZClientArgs(adapter="hci0")


@pytest.fixture
async def button(bluez_air: AirServer, tmp_path: Path) -> AsyncIterator[SimButton]:
    async with SimButton(
        air=bluez_air.address, address=ADDRESS, key=KEY, x=2.0, state_dir=tmp_path / "button"
    ) as sim:
        yield sim


class Heard:
    """A detection callback that keeps every advert per address."""

    def __init__(self) -> None:
        self.adverts: dict[str, list[AdvertisementData]] = {}

    def __call__(self, device: BLEDevice, advertisement: AdvertisementData) -> None:
        self.adverts.setdefault(device.address, []).append(advertisement)

    def of(self, address: str) -> list[AdvertisementData]:
        return self.adverts.get(address, [])


def feedback_frame(counter: int) -> bytes:
    return command.pack_feedback(
        aes(KEY, 1).encrypt,
        command.mac_bytes(ADDRESS),
        counter,
        command.PATTERN_CELEBRATE,
        (255, 200, 0),
        20,
    )


async def test_scanner_sees_a_button_advert_with_its_service_data_and_rssi(
    fake_bluez: FakeBlueZ,
    button: SimButton,
) -> None:
    heard = Heard()
    async with BleakScanner(heard, scanning_mode="active", bluez=SCAN_ON_HCI0):
        idle = await eventually(lambda: heard.of(ADDRESS), what="the idle advert through BlueZ")
        # The scan response's complete name, merged with the advert as BlueZ merges them.
        assert idle[0].local_name == bthome.gap_name(command.mac_bytes(ADDRESS))
        assert -90 < idle[0].rssi < -20  # 2 m from the hub
        props = fake_bluez.device_properties(ADDRESS)
        assert props is not None
        assert props["AddressType"] == "random"

        await button.press("tap")
        expected = parse_advertisement(button.adverts[-1]).service_data[BTHOME_UUID]
        tapped = await eventually(
            lambda: [a for a in heard.of(ADDRESS) if a.service_data.get(BTHOME_UUID) == expected],
            what="the tap's encrypted advert through BlueZ",
        )
        assert tapped[0].rssi == fake_bluez.device_properties(ADDRESS)["RSSI"]  # type: ignore[index]
    assert not fake_bluez.discovering


async def test_client_connects_reads_writes_and_disconnects(fake_bluez: FakeBlueZ, button: SimButton) -> None:
    async with BleakClient(ADDRESS, timeout=10, bluez=CLIENT_ON_HCI0) as client:
        assert fake_bluez.is_connected(ADDRESS)
        assert client.services.get_characteristic(COMMAND_CHAR) is not None
        state_before = await client.read_gatt_char(STATE_CHAR)
        assert len(state_before) > 0

        await client.write_gatt_char(COMMAND_CHAR, feedback_frame(1), response=True)
        played = await button.wait_for_output()
        assert played.pattern == "celebrate"
        assert await client.read_gatt_char(STATE_CHAR) != state_before

        # A replayed command: the stack acknowledges it, the state says it was refused.
        before = parse_state(bytes(await client.read_gatt_char(STATE_CHAR)))
        await client.write_gatt_char(COMMAND_CHAR, feedback_frame(1), response=True)
        assert (await await_outcome(client, 1, before)).outcome == "replay"
    assert not fake_bluez.is_connected(ADDRESS)
    assert len(button.outputs) == 1


async def test_a_peripheral_that_drops_the_link_disconnects_the_client(
    fake_bluez: FakeBlueZ,
    button: SimButton,
) -> None:
    disconnected: list[BleakClient] = []
    client = BleakClient(ADDRESS, disconnected_callback=disconnected.append, timeout=10, bluez=CLIENT_ON_HCI0)
    await client.connect()
    try:
        await button.stop()  # the button leaves the air: the link is lost
        await eventually(lambda: disconnected, what="bleak's disconnected callback")
        assert not client.is_connected
    finally:
        await client.disconnect()


async def test_removed_device_disappears_and_comes_back_with_the_next_advert(
    fake_bluez: FakeBlueZ,
    button: SimButton,
) -> None:
    del button
    heard = Heard()
    async with BleakScanner(heard, bluez=SCAN_ON_HCI0) as scanner:
        await eventually(
            lambda: ADDRESS in scanner.discovered_devices_and_advertisement_data, what="the button"
        )
        assert fake_bluez.remove_device(ADDRESS)
        await eventually(
            lambda: ADDRESS not in scanner.discovered_devices_and_advertisement_data,
            what="bleak to forget the removed device",
        )
        count = len(heard.of(ADDRESS))
        await eventually(lambda: len(heard.of(ADDRESS)) > count, what="the device to be rediscovered")
    assert not fake_bluez.remove_device("00:11:22:33:44:55")


async def test_injected_in_progress_surfaces_as_bleak_dbus_error(
    fake_bluez: FakeBlueZ, button: SimButton
) -> None:
    del button
    fake_bluez.fail_next("StartDiscovery", ERROR_IN_PROGRESS)
    scanner = BleakScanner(bluez=SCAN_ON_HCI0)
    with pytest.raises(BleakDBusError) as caught:
        await scanner.start()
    assert caught.value.dbus_error == ERROR_IN_PROGRESS
    assert ("StartDiscovery", "/org/bluez/hci0") in fake_bluez.calls

    # The fault was used up: the next start works, and a failed Connect surfaces the same way.
    device = await BleakScanner.find_device_by_address(ADDRESS, timeout=10, bluez=SCAN_ON_HCI0)
    assert device is not None
    fake_bluez.fail_next("Connect", ERROR_IN_PROGRESS, path=fake_bluez.device_path(ADDRESS))
    client = BleakClient(device, timeout=10, bluez=CLIENT_ON_HCI0)
    with pytest.raises(BleakDBusError) as caught:
        await client.connect()
    assert caught.value.dbus_error == ERROR_IN_PROGRESS
    assert not fake_bluez.is_connected(ADDRESS)


async def test_a_second_discovery_from_the_same_client_is_in_progress(
    fake_bluez: FakeBlueZ,
    button: SimButton,
) -> None:
    # Real bluetoothd allows one discovery session per D-Bus client, and bleak shares one
    # connection per event loop: two scanners at once fail just like on a Pi.
    del button
    async with BleakScanner(bluez=SCAN_ON_HCI0):
        with pytest.raises(BleakDBusError) as caught:
            await BleakScanner(bluez=SCAN_ON_HCI0).start()
        assert caught.value.dbus_error == ERROR_IN_PROGRESS
    assert not fake_bluez.discovering


async def test_powered_off_adapter_refuses_and_drops_connections(
    fake_bluez: FakeBlueZ, button: SimButton
) -> None:
    del button
    disconnected: list[BleakClient] = []
    async with BleakClient(
        ADDRESS, disconnected_callback=disconnected.append, timeout=10, bluez=CLIENT_ON_HCI0
    ):
        fake_bluez.set_powered(False)
        await eventually(lambda: disconnected, what="the connection to drop with the power")
    with pytest.raises(BleakDBusError) as caught:
        await BleakScanner(bluez=SCAN_ON_HCI0).start()
    assert caught.value.dbus_error == ERROR_NOT_READY
    fake_bluez.set_powered(True)
    assert await BleakScanner.find_device_by_address(ADDRESS, timeout=10, bluez=SCAN_ON_HCI0) is not None


async def test_only_changed_properties_are_signalled(
    fake_bluez: FakeBlueZ,
    private_dbus: PrivateBus,
    bluez_air: AirServer,
) -> None:
    # Adverts injected at the hub's radio, and a raw D-Bus listener, show what BlueZ emits.
    advert = bytes.fromhex("020106") + bytes.fromhex("0b16d2fc4400aabbccddeeff")
    signals: list[dict[str, Any]] = []

    def on_message(message: Message) -> None:
        if message.message_type == MessageType.SIGNAL and message.member == "PropertiesChanged":
            interface, changed, _invalidated = message.body
            if interface == "org.bluez.Device1":
                signals.append({name: variant.value for name, variant in changed.items()})

    listener = await MessageBus(bus_address=private_dbus.address).connect()
    try:
        listener.add_message_handler(on_message)
        await listener.call(
            Message(
                destination="org.freedesktop.DBus",
                path="/org/freedesktop/DBus",
                interface="org.freedesktop.DBus",
                member="AddMatch",
                signature="s",
                body=["type='signal',interface='org.freedesktop.DBus.Properties',member='PropertiesChanged'"],
            )
        )
        async with BleakScanner(bluez=SCAN_ON_HCI0):
            assert bluez_air.inject(HUB_RADIO, ADDRESS, advert, -60)
            await eventually(lambda: fake_bluez.device_properties(ADDRESS), what="the device to appear")
            assert bluez_air.inject(HUB_RADIO, ADDRESS, advert, -60)  # identical: nothing to say
            assert bluez_air.inject(HUB_RADIO, ADDRESS, advert, -61)  # only the RSSI moved
            await eventually(lambda: signals, what="a PropertiesChanged")
            newer = advert[:-1] + b"\x00"
            assert bluez_air.inject(HUB_RADIO, ADDRESS, newer, -61)
            await eventually(lambda: len(signals) >= 2, what="the service data change")
        assert signals[0] == {"RSSI": -61}
        assert set(signals[1]) == {"ServiceData"}
        assert bytes(signals[1]["ServiceData"][BTHOME_UUID].value) == newer[7:]
    finally:
        listener.disconnect()
        await listener.wait_for_disconnect()  # type: ignore[no-untyped-call]  # unannotated in dbus-fast
