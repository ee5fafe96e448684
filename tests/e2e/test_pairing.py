"""Pairing on the simulated air: the real firmware (unprovisioned SimButton) and the hub's own
BLE side (one ScanSupervisor feeding AdvertIngest and Pairing, FeedbackSender, SQLite registry)."""

from __future__ import annotations

import asyncio
import contextlib
import stat
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Final

import pytest

from firmware_sim.air.radio_model import RadioConditions
from firmware_sim.air.server import AirServer
from firmware_sim.button import SimButton
from firmware_sim.scenario.hub_ear import HubEar, open_hub_ear
from hub.app.ble_side import BleOptions
from hub.ble.pairing import PairingError
from hub.clock import SystemClock
from hub.events import Gesture, SignalKind
from tests.support.waiting import WAIT_S, eventually

HUB_RADIO: Final = "B8:27:EB:00:00:0A"
OTHER_HUB_RADIO: Final = "B8:27:EB:00:00:0B"
ADDRESS: Final = "C0:FF:EE:00:00:01"
SECOND: Final = "C0:FF:EE:00:00:02"
KEY: Final = bytes.fromhex("000102030405060708090a0b0c0d0e0f")
SPEED: Final = 20.0  # button firmware time: a 10 s factory-reset hold takes 0.5 s
RESET_HOLD_S: Final = 11.0
SETTLE_S: Final = 0.5  # the hub listens this long for a second button in pairing mode


# The hub's BLE side as `heartline hub` builds it, listening a shorter while for a second button.
PAIRING_OPTIONS: Final = BleOptions(pairing_settle_s=SETTLE_S)


def pairing_hub(air: AirServer, radio: str, data_dir: Path) -> contextlib.AbstractAsyncContextManager[HubEar]:
    return open_hub_ear(air.address, radio, data_dir, SystemClock(), options=PAIRING_OPTIONS)


@pytest.fixture
async def air() -> AsyncIterator[AirServer]:
    server = AirServer(RadioConditions(noise_sigma_db=2.0))
    server.place(HUB_RADIO, 0.0, 0.0)
    server.place(OTHER_HUB_RADIO, 3.0, 0.0)
    async with server:
        yield server


@pytest.fixture
async def hub(air: AirServer, tmp_path: Path) -> AsyncIterator[HubEar]:
    async with pairing_hub(air, HUB_RADIO, tmp_path / "hub") as paired_hub:
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
    air: AirServer, hub: HubEar, tmp_path: Path
) -> None:
    async with new_button(air, tmp_path) as button:
        record = await hub.side.pairing.pair("Alex", timeout_s=WAIT_S)
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

        await hub.side.feedback.send(record, SignalKind.CELEBRATE)
        assert (await button.wait_for_output(2)).pattern == "celebrate"
        # The feedback took counter 2; the acknowledgement of the tap rode in its connection (3).
        assert button.last_command_counter == 3


@pytest.mark.slow
async def test_a_keyed_button_is_never_rekeyed_without_a_reset(
    air: AirServer, hub: HubEar, tmp_path: Path
) -> None:
    async with new_button(air, tmp_path, key=KEY) as button:
        with pytest.raises(PairingError) as caught:
            await hub.side.pairing.pair("Alex", timeout_s=1.5)
        assert caught.value.reason == "no_button"
        assert "hold its pad for 10 s" in str(caught.value)
        assert button.key == KEY
        assert hub.side.registry.all() == []


@pytest.mark.slow
async def test_a_reset_button_pairs_again_with_another_hub(
    air: AirServer, hub: HubEar, tmp_path: Path
) -> None:
    async with (
        new_button(air, tmp_path) as button,
        pairing_hub(air, OTHER_HUB_RADIO, tmp_path / "other") as other,
    ):
        first = await hub.side.pairing.pair("Alex", timeout_s=WAIT_S)
        await button.wait_for_output()
        await button.hold(RESET_HOLD_S)
        assert button.resets == 1
        second = await other.side.pairing.pair("Sam", timeout_s=WAIT_S)
        assert second.key == button.key
        assert second.key != first.key
        ingest = hub.side.ingest
        rejected = ingest.rejected["duplicate"] + ingest.rejected["bad_mic"]
        await button.press("double_tap")
        (event,) = await other.wait_for_events(1)
        assert (event.gesture, event.owner, event.counter) == (Gesture.DOUBLE_TAP, "Sam", 1)
        # The first hub still knows the old key: it hears the new adverts but cannot read them.
        # (It did hear the long press the reset hold began with: hardware/ble-spec.md says so.)
        # Its counters restarted with the new key, so it counts them as repeats or bad MICs.
        await eventually(
            lambda: ingest.rejected["duplicate"] + ingest.rejected["bad_mic"] > rejected,
            what="the first hub to reject the double tap's adverts",
        )
        assert [e.gesture for e in hub.events] == [Gesture.LONG_PRESS]


@pytest.mark.slow
async def test_repairing_to_the_same_hub_replaces_the_key_and_counters(
    air: AirServer, hub: HubEar, tmp_path: Path
) -> None:
    async with new_button(air, tmp_path) as button:
        first = await hub.side.pairing.pair("Alex", timeout_s=WAIT_S)
        for _ in range(2):
            await button.press("tap")
        await hub.wait_for_events(2)
        await button.hold(RESET_HOLD_S)
        with pytest.raises(PairingError) as known:  # a known address is re-keyed only when asked
            await hub.side.pairing.pair("Alex", timeout_s=WAIT_S)
        assert known.value.reason == "known"
        assert "--replace" in str(known.value)
        second = await hub.side.pairing.pair("Alex", timeout_s=WAIT_S, replace=True)
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


async def test_no_button_in_pairing_mode_times_out(hub: HubEar) -> None:
    with pytest.raises(PairingError) as caught:
        await hub.side.pairing.pair("Alex", timeout_s=0.5)
    assert caught.value.reason == "no_button"
    assert "no button in pairing mode within 0.5 s" in str(caught.value)


async def test_two_buttons_in_pairing_mode_are_refused(air: AirServer, hub: HubEar, tmp_path: Path) -> None:
    async with new_button(air, tmp_path) as one, new_button(air, tmp_path, SECOND) as two:
        # Both advertise pairing mode before the hub looks (making a key pair takes a while).
        await one.wait_for_pairing("open")
        await two.wait_for_pairing("open")
        with pytest.raises(PairingError) as caught:
            await hub.side.pairing.pair("Alex", timeout_s=WAIT_S)
        assert caught.value.reason == "several_buttons"
        assert ADDRESS in str(caught.value)
        assert SECOND in str(caught.value)
        assert "one at a time" in str(caught.value)
        assert (one.key, two.key) == (None, None)
        assert hub.side.registry.all() == []


async def test_a_second_pairing_at_once_is_refused(air: AirServer, hub: HubEar, tmp_path: Path) -> None:
    async with new_button(air, tmp_path):
        first = asyncio.create_task(hub.side.pairing.pair("Alex", timeout_s=WAIT_S))
        await asyncio.sleep(0)
        with pytest.raises(PairingError) as caught:
            await hub.side.pairing.pair("Sam", timeout_s=1)
        assert caught.value.reason == "busy"
        assert (await first).owner == "Alex"


@pytest.mark.slow
async def test_a_button_that_already_took_a_key_refuses_the_hub(
    air: AirServer, hub: HubEar, tmp_path: Path
) -> None:
    """Someone else's hub got there first (the race an attacker would have to win)."""
    async with (
        new_button(air, tmp_path) as button,
        pairing_hub(air, OTHER_HUB_RADIO, tmp_path / "other") as other,
    ):
        await other.side.pairing.pair("Mallory", timeout_s=WAIT_S)
        await button.wait_for_pairing("paired")
        with pytest.raises(PairingError) as caught:
            await hub.side.pairing.pair("Alex", timeout_s=1.0)
        # It no longer advertises pairing mode, so this hub never even finds it.
        assert caught.value.reason == "no_button"
        assert hub.side.registry.all() == []
