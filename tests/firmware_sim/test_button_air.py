"""The CPython-hosted button (SimButton) on the real air server, heard by the hub's own parts.

The same round trip runs for the unix-port button in test_unix_port.py; here the firmware
runs in-process on the shims, the air applies its radio model, and the hub side is the real
bleak scanner backend, AdvertIngest and FeedbackSender (firmware_sim.scenario.hub_ear).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from firmware_sim.air.radio_model import RadioConditions
from firmware_sim.air.server import AirServer
from firmware_sim.button import SimButton
from firmware_sim.scenario.hub_ear import HubEar, open_hub_ear
from hub.app.ble_side import BleOptions
from hub.clock import SystemClock
from hub.errors import FeedbackError
from hub.events import Gesture, SignalKind
from tests.device.vectors import decode
from tests.support.waiting import eventually

KEY = bytes.fromhex("231d39c1d7cc1ab1aee224cd096db932")
ADDRESS = "54:48:E6:8F:80:A5"
HUB_RADIO = "B8:27:EB:00:00:0A"
# The button is out of range: give up on its confirmation after a second, not ten.
QUICK_GIVE_UP = BleOptions(feedback_timeout_s=1.0)


@pytest.fixture
async def air() -> AsyncIterator[AirServer]:
    server = AirServer(RadioConditions(noise_sigma_db=2.0))
    server.place(HUB_RADIO, 0.0, 0.0)
    async with server:
        yield server


@pytest.fixture
async def hub(air: AirServer, tmp_path: Path) -> AsyncIterator[HubEar]:
    async with open_hub_ear(air.address, HUB_RADIO, tmp_path / "hub", SystemClock()) as ear:
        ear.register(ADDRESS, KEY, "Alex")
        yield ear


@pytest.fixture
async def button(air: AirServer, hub: HubEar, tmp_path: Path) -> AsyncIterator[SimButton]:
    async with SimButton(
        air=air.address, address=ADDRESS, key=KEY, state_dir=tmp_path / "button", x=2.0
    ) as sim:
        yield sim


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("tap", Gesture.TAP),
        pytest.param("double_tap", Gesture.DOUBLE_TAP, marks=pytest.mark.slow),
        pytest.param("long_press", Gesture.LONG_PRESS, marks=pytest.mark.slow),
    ],
)
async def test_gesture_reaches_the_hub_once(
    hub: HubEar, button: SimButton, name: str, expected: Gesture
) -> None:
    await button.press(name)  # type: ignore[arg-type]
    event = await hub.next_event()
    assert (event.gesture, event.address, event.counter) == (expected, ADDRESS, 1)
    assert decode(ADDRESS, button.adverts[-1], KEY)["verified"] is True
    # The rest of the burst is de-duplicated, not a second event (the sleep is a window in which
    # none may come).
    await eventually(lambda: hub.side.ingest.rejected["duplicate"] >= 1, what="a repeat of the burst")
    await asyncio.sleep(0.3)
    assert len(hub.events) == 1


async def test_touch_advert_hub_haptic_round_trip(hub: HubEar, button: SimButton) -> None:
    await button.press("tap")
    event = await hub.next_event()
    assert event.gesture is Gesture.TAP
    await hub.send_feedback(ADDRESS, SignalKind.CELEBRATE)
    played = await button.wait_for_output()
    assert played.pattern == "celebrate"
    # The feedback took counter 1; the acknowledgement of the touch rode in its connection (2).
    await eventually(lambda: button.last_command_counter == 2, what="the acknowledgement after it")
    assert hub.side.feedback.piggybacked_acks == 1


@pytest.mark.slow  # waits out a feedback timeout
async def test_out_of_range_button_is_reported_not_reached(air: AirServer, tmp_path: Path) -> None:
    async with (
        open_hub_ear(
            air.address,
            HUB_RADIO,
            tmp_path / "hub",
            SystemClock(),
            options=BleOptions(feedback_timeout_s=1.0),
        ) as hub,
        SimButton(air=air.address, address=ADDRESS, key=KEY, state_dir=tmp_path / "b") as sim,
    ):
        hub.register(ADDRESS, KEY, "Alex")
        await sim.move(3000.0, 0.0)
        with pytest.raises(FeedbackError):
            await hub.send_feedback(ADDRESS, SignalKind.THINKING_OF_YOU)
        assert sim.outputs == []


@pytest.mark.slow  # three touches, half their adverts lost
async def test_lossy_air_still_delivers_every_touch(tmp_path: Path) -> None:
    # Half of all adverts lost: the 1.5 s burst still gets each event through.
    server = AirServer(RadioConditions(noise_sigma_db=2.0, advert_loss=0.5))
    server.place(HUB_RADIO, 0.0, 0.0)
    async with (
        server,
        open_hub_ear(server.address, HUB_RADIO, tmp_path / "hub", SystemClock()) as hub,
    ):
        hub.register(ADDRESS, KEY, "Alex")
        async with SimButton(
            air=server.address, address=ADDRESS, key=KEY, state_dir=tmp_path / "b", x=2.0
        ) as sim:
            for _ in range(3):
                await sim.press("tap")
            events = await hub.wait_for_events(3)
    assert [e.counter for e in events] == [1, 2, 3]
