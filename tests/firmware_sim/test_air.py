"""The simulated air: path loss decides who hears whom; GATT is routed; strangers can be injected."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator

import pytest
from bleak import BleakClient, BleakScanner
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData
from bleak.exc import BleakDeviceNotFoundError

from firmware_sim.air import protocol
from firmware_sim.air.radio_model import RadioConditions
from firmware_sim.air.server import AirServer
from firmware_sim.bleak_backend import AirClient, AirLink, AirScanner
from tests.support.waiting import eventually

BTHOME = bytes.fromhex("0816d2fc4100010201")  # AD: service data 0xFCD2, a few plaintext bytes


def test_rssi_falls_with_distance_and_vanishes_beyond_range() -> None:
    quiet = RadioConditions(noise_sigma_db=0.0)
    near, far = quiet.received_rssi(0, 1.0), quiet.received_rssi(0, 10.0)
    assert near is not None
    assert far is not None
    assert near - far == 25  # 10 * n * log10(10) with n = 2.5
    assert quiet.received_rssi(0, 5000.0) is None
    shadowed = quiet.received_rssi(0, 1.0, shadowed=True)
    assert shadowed is not None
    assert near - shadowed == 15


def test_advert_loss_drops_about_the_configured_share() -> None:
    lossy = RadioConditions(noise_sigma_db=0.0, advert_loss=0.3, rng=random.Random(7))
    heard = sum(lossy.received_rssi(0, 1.0) is not None for _ in range(2000))
    assert 1300 < heard < 1500
    with pytest.raises(ValueError, match="probability"):
        RadioConditions(advert_loss=1.5)


class _Peripheral:
    """A minimal peripheral radio speaking the air protocol (the firmware's shim does more)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.writes: list[bytes] = []

    def send(self, message: dict[str, object]) -> None:
        self.writer.write(protocol.encode(message))

    async def serve(self) -> None:
        while line := await self.reader.readline():
            message = protocol.decode(line)
            if message["op"] == "write":
                self.writes.append(bytes.fromhex(str(message["data"])))
                self.send({"op": "rsp", "req": message["req"], "status": 0})


@pytest.fixture
async def air() -> AsyncIterator[AirServer]:
    async with AirServer(RadioConditions(noise_sigma_db=0.0)) as server:
        yield server


async def _peripheral(air: AirServer, addr: str, x: float) -> _Peripheral:
    reader, writer = await asyncio.open_connection(*air.address)
    peripheral = _Peripheral(reader, writer)
    peripheral.send({"op": "hello", "role": "peripheral", "addr": addr, "x": x, "y": 0.0, "tx_power": 0})
    assert protocol.decode(await reader.readline())["op"] == "welcome"
    peripheral.send(
        {
            "op": "gatt",
            "services": [
                {
                    "uuid": "f1e00001-5d6b-4c8e-9a3b-48454152544c",
                    "chars": [
                        {"uuid": "f1e00002-5d6b-4c8e-9a3b-48454152544c", "handle": 3, "props": ["write"]},
                    ],
                }
            ],
        }
    )
    return peripheral


async def test_a_scanner_hears_near_devices_through_bleak_and_not_far_ones(air: AirServer) -> None:
    near = await _peripheral(air, "C0:FF:EE:00:00:01", x=2.0)
    far = await _peripheral(air, "C0:FF:EE:00:00:02", x=4000.0)
    heard: list[tuple[str, AdvertisementData]] = []

    def seen(device: BLEDevice, advertisement: AdvertisementData) -> None:
        heard.append((device.address, advertisement))

    async with AirLink(*air.address, "B8:27:EB:00:00:01") as link:
        scanner = BleakScanner(seen, backend=AirScanner, air=link)
        await scanner.start()
        try:
            for radio in (near, far):
                radio.send({"op": "adv", "data": BTHOME.hex()})
            await eventually(lambda: heard, what="an advert")
            await asyncio.sleep(0.1)
        finally:
            await scanner.stop()
    assert {address for address, _ in heard} == {"C0:FF:EE:00:00:01"}
    advertisement = heard[0][1]
    assert advertisement.service_data == {"0000fcd2-0000-1000-8000-00805f9b34fb": bytes.fromhex("4100010201")}
    assert -60 < advertisement.rssi < -40
    for radio in (near, far):
        radio.writer.close()


async def test_a_client_writes_through_bleak_and_far_devices_are_not_found(air: AirServer) -> None:
    near = await _peripheral(air, "C0:FF:EE:00:00:01", x=2.0)
    far = await _peripheral(air, "C0:FF:EE:00:00:02", x=4000.0)
    serving = asyncio.create_task(near.serve())
    async with AirLink(*air.address, "B8:27:EB:00:00:01") as link:
        async with BleakClient("C0:FF:EE:00:00:01", backend=AirClient, air=link, timeout=5) as client:
            await client.write_gatt_char("f1e00002-5d6b-4c8e-9a3b-48454152544c", b"\x01\x02", response=True)
        with pytest.raises(BleakDeviceNotFoundError):
            await BleakClient("C0:FF:EE:00:00:02", backend=AirClient, air=link, timeout=5).connect()
    assert near.writes == [b"\x01\x02"]
    serving.cancel()
    near.writer.close()
    far.writer.close()


async def test_an_injected_advert_reaches_only_the_named_scanning_hub(air: AirServer) -> None:
    heard: list[str] = []
    async with AirLink(*air.address, "B8:27:EB:00:00:01") as link:
        scanner = BleakScanner(lambda d, a: heard.append(d.address), backend=AirScanner, air=link)
        assert not air.inject("B8:27:EB:00:00:01", "11:22:33:44:55:66", BTHOME, -50)  # not scanning yet
        await scanner.start()
        await eventually(
            lambda: air.inject("B8:27:EB:00:00:01", "11:22:33:44:55:66", BTHOME, -50), what="scan"
        )
        await eventually(lambda: heard, what="the injected advert")
        await scanner.stop()
    assert heard == ["11:22:33:44:55:66"]
    assert not air.inject("B8:27:EB:00:00:99", "11:22:33:44:55:66", BTHOME, -50)
