"""Pairing on the simulated air: the real firmware (unprovisioned SimButton) and the hub's own
parts (one ScanSupervisor feeding AdvertIngest and Pairing, FeedbackSender, SQLite registry)."""

from __future__ import annotations

import asyncio
import contextlib
import stat
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Final, Self

import pytest
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData

from firmware_sim.air.radio_model import RadioConditions
from firmware_sim.air.server import AirServer
from firmware_sim.button import SimButton
from hub.ble.feedback import FeedbackSender
from hub.ble.ingest import AdvertIngest
from hub.ble.pairing import Pairing, PairingError
from hub.ble.scanning import ScanSupervisor
from hub.ble.transport import SimTransport
from hub.clock import SystemClock
from hub.events import Gesture, SignalKind, TouchEvent
from hub.store.buttons import ButtonRecord, ButtonRegistry
from hub.store.database import Database, open_database
from tests.support.waiting import WAIT_S, eventually

HUB_RADIO: Final = "B8:27:EB:00:00:0A"
OTHER_HUB_RADIO: Final = "B8:27:EB:00:00:0B"
ADDRESS: Final = "C0:FF:EE:00:00:01"
SECOND: Final = "C0:FF:EE:00:00:02"
KEY: Final = bytes.fromhex("000102030405060708090a0b0c0d0e0f")
SPEED: Final = 20.0  # button firmware time: a 10 s factory-reset hold takes 0.5 s
RESET_HOLD_S: Final = 11.0
SETTLE_S: Final = 0.5  # the hub listens this long for a second button in pairing mode


class PairingHub:
    """One hub's BLE side, wired like the daemon: one scanner, its callback fanned out."""

    def __init__(self, air: AirServer, radio: str, data_dir: Path) -> None:
        self.transport = SimTransport(f"sim:127.0.0.1:{air.port}/{radio}", "127.0.0.1", air.port, radio)
        self._data_dir = data_dir
        self.events: list[TouchEvent] = []
        self._arrived = asyncio.Condition()
        self._stack = contextlib.AsyncExitStack()
        self._db: Database | None = None

    @property
    def registry(self) -> ButtonRegistry:
        assert self._db is not None
        return ButtonRegistry(self._db)

    def add_button(self, address: str, kind: str, key: bytes, owner: str) -> ButtonRecord:
        record = self.registry.upsert(address, kind, key, owner)
        self.ingest.reload()
        return record

    async def __aenter__(self) -> Self:
        clock = SystemClock()
        self._db = open_database(self._data_dir)
        self._stack.callback(self._db.close)
        registry = self.registry
        self.ingest = AdvertIngest(registry, clock)
        self.pairing = Pairing(self.transport, registry, clock, register=self.add_button, settle_s=SETTLE_S)
        self.feedback = FeedbackSender(self.transport, registry, 5.0)
        await self.transport.open()
        self._stack.push_async_callback(self.transport.close)
        supervisor = ScanSupervisor(
            self.transport, fan_out(self.ingest.on_advert, self.pairing.on_advert), clock
        )
        for job in (supervisor.run(), self._pump()):
            task = asyncio.create_task(job)
            self._stack.push_async_callback(_cancel, task)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._stack.aclose()

    async def _pump(self) -> None:
        async for event in self.ingest.events():
            self.events.append(event)
            async with self._arrived:
                self._arrived.notify_all()

    async def wait_for_events(self, count: int, within_s: float = WAIT_S) -> list[TouchEvent]:
        async with asyncio.timeout(within_s), self._arrived:
            await self._arrived.wait_for(lambda: len(self.events) >= count)
        return self.events


def fan_out(
    *callbacks: Callable[[BLEDevice, AdvertisementData], None],
) -> Callable[[BLEDevice, AdvertisementData], None]:
    def heard(device: BLEDevice, advertisement: AdvertisementData) -> None:
        for callback in callbacks:
            callback(device, advertisement)

    return heard


async def _cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


@pytest.fixture
async def air() -> AsyncIterator[AirServer]:
    server = AirServer(RadioConditions(noise_sigma_db=2.0))
    server.place(HUB_RADIO, 0.0, 0.0)
    server.place(OTHER_HUB_RADIO, 3.0, 0.0)
    async with server:
        yield server


@pytest.fixture
async def hub(air: AirServer, tmp_path: Path) -> AsyncIterator[PairingHub]:
    async with PairingHub(air, HUB_RADIO, tmp_path / "hub") as paired_hub:
        yield paired_hub


def new_button(air: AirServer, tmp_path: Path, address: str = ADDRESS, key: bytes | None = None) -> SimButton:
    return SimButton(
        air=air.address,
        address=address,
        key=key,
        state_dir=tmp_path / address.replace(":", ""),
        x=1.5,
        speed=SPEED,
    )


async def test_pair_a_fresh_button_then_its_touches_and_feedback_work(
    air: AirServer, hub: PairingHub, tmp_path: Path
) -> None:
    async with new_button(air, tmp_path) as button:
        record = await hub.pairing.pair("Alex", timeout_s=WAIT_S)
        assert (record.address, record.owner, record.kind) == (ADDRESS, "Alex", "heartline")
        assert record.key == button.key  # both sides derived the same key
        assert "key" not in repr(record)
        played = await button.wait_for_output()  # the "paired" buzz, authenticated with the new key
        assert played.pattern == "felt_it"
        assert button.pairing_status == "paired"
        assert record.command_counter == 1
        for stored in (tmp_path / "hub").glob("*.db*"):
            assert stat.S_IMODE(stored.stat().st_mode) == 0o600, stored

        await button.press("tap")
        (event,) = await hub.wait_for_events(1)
        assert (event.gesture, event.address, event.owner, event.counter) == (Gesture.TAP, ADDRESS, "Alex", 1)

        await hub.feedback.send(record, SignalKind.CELEBRATE)
        assert (await button.wait_for_output(2)).pattern == "celebrate"
        assert button.last_command_counter == 2


@pytest.mark.slow
async def test_a_keyed_button_is_never_rekeyed_without_a_reset(
    air: AirServer, hub: PairingHub, tmp_path: Path
) -> None:
    async with new_button(air, tmp_path, key=KEY) as button:
        with pytest.raises(PairingError) as caught:
            await hub.pairing.pair("Alex", timeout_s=1.5)
        assert caught.value.reason == "no_button"
        assert "hold its pad for 10 s" in str(caught.value)
        assert button.key == KEY
        assert hub.registry.all() == []


@pytest.mark.slow
async def test_a_reset_button_pairs_again_with_another_hub(
    air: AirServer, hub: PairingHub, tmp_path: Path
) -> None:
    async with (
        new_button(air, tmp_path) as button,
        PairingHub(air, OTHER_HUB_RADIO, tmp_path / "other") as other,
    ):
        first = await hub.pairing.pair("Alex", timeout_s=WAIT_S)
        await button.wait_for_output()
        await button.hold(RESET_HOLD_S)
        assert button.resets == 1
        second = await other.pairing.pair("Sam", timeout_s=WAIT_S)
        assert second.key == button.key
        assert second.key != first.key
        rejected = hub.ingest.rejected["duplicate"] + hub.ingest.rejected["bad_mic"]
        await button.press("double_tap")
        (event,) = await other.wait_for_events(1)
        assert (event.gesture, event.owner, event.counter) == (Gesture.DOUBLE_TAP, "Sam", 1)
        # The first hub still knows the old key: it hears the new adverts but cannot read them.
        # (It did hear the long press the reset hold began with: hardware/ble-spec.md says so.)
        # Its counters restarted with the new key, so it counts them as repeats or bad MICs.
        await eventually(
            lambda: hub.ingest.rejected["duplicate"] + hub.ingest.rejected["bad_mic"] > rejected,
            what="the first hub to reject the double tap's adverts",
        )
        assert [e.gesture for e in hub.events] == [Gesture.LONG_PRESS]


@pytest.mark.slow
async def test_repairing_to_the_same_hub_replaces_the_key_and_counters(
    air: AirServer, hub: PairingHub, tmp_path: Path
) -> None:
    async with new_button(air, tmp_path) as button:
        first = await hub.pairing.pair("Alex", timeout_s=WAIT_S)
        for _ in range(2):
            await button.press("tap")
        await hub.wait_for_events(2)
        await button.hold(RESET_HOLD_S)
        second = await hub.pairing.pair("Alex", timeout_s=WAIT_S)
        assert (second.id, second.key != first.key, second.advert_counter) == (first.id, True, -1)
        await button.press("tap")
        # tap, tap, the long press the reset hold began with, then the new key's first tap:
        # accepted at counter 1, not taken for a replay of the old key's counters.
        events = await hub.wait_for_events(4)
        assert [(e.gesture, e.counter) for e in events] == [
            (Gesture.TAP, 1),
            (Gesture.TAP, 2),
            (Gesture.LONG_PRESS, 3),
            (Gesture.TAP, 1),
        ]


@pytest.mark.slow
async def test_no_button_in_pairing_mode_times_out(hub: PairingHub) -> None:
    with pytest.raises(PairingError) as caught:
        await hub.pairing.pair("Alex", timeout_s=0.5)
    assert caught.value.reason == "no_button"
    assert "no button in pairing mode within 0.5 s" in str(caught.value)


@pytest.mark.slow
async def test_two_buttons_in_pairing_mode_are_refused(
    air: AirServer, hub: PairingHub, tmp_path: Path
) -> None:
    async with new_button(air, tmp_path) as one, new_button(air, tmp_path, SECOND) as two:
        # Both advertise pairing mode before the hub looks (making a key pair takes a while).
        await one.wait_for_pairing("open")
        await two.wait_for_pairing("open")
        with pytest.raises(PairingError) as caught:
            await hub.pairing.pair("Alex", timeout_s=WAIT_S)
        assert caught.value.reason == "several_buttons"
        assert ADDRESS in str(caught.value)
        assert SECOND in str(caught.value)
        assert "one at a time" in str(caught.value)
        assert (one.key, two.key) == (None, None)
        assert hub.registry.all() == []


@pytest.mark.slow
async def test_a_second_pairing_at_once_is_refused(air: AirServer, hub: PairingHub, tmp_path: Path) -> None:
    async with new_button(air, tmp_path):
        first = asyncio.create_task(hub.pairing.pair("Alex", timeout_s=WAIT_S))
        await asyncio.sleep(0)
        with pytest.raises(PairingError) as caught:
            await hub.pairing.pair("Sam", timeout_s=1)
        assert caught.value.reason == "busy"
        assert (await first).owner == "Alex"


@pytest.mark.slow
async def test_a_button_that_already_took_a_key_refuses_the_hub(
    air: AirServer, hub: PairingHub, tmp_path: Path
) -> None:
    """Someone else's hub got there first (the race an attacker would have to win)."""
    async with (
        new_button(air, tmp_path) as button,
        PairingHub(air, OTHER_HUB_RADIO, tmp_path / "other") as other,
    ):
        await other.pairing.pair("Mallory", timeout_s=WAIT_S)
        await button.wait_for_pairing("paired")
        with pytest.raises(PairingError) as caught:
            await hub.pairing.pair("Alex", timeout_s=1.0)
        # It no longer advertises pairing mode, so this hub never even finds it.
        assert caught.value.reason == "no_button"
        assert hub.registry.all() == []
