"""A sleepy button's window: the router holds the signal for it, the button plays it in the next
listen window, and only a window that passes unheard sends the signal on to the phone.

The real path on the simulated air and virtual time: the wearable firmware (device/sleep.py) on
the CPython shims, the hub's BLE side (scanner, FeedbackSender with its ListenWindows) and the
DeliveryRouter.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

from firmware_sim.air.radio_model import RadioConditions
from firmware_sim.air.server import AirServer
from firmware_sim.button import SimButton
from firmware_sim.scenario.hub_ear import HubEar, open_hub_ear
from firmware_sim.scenario.virtual_time import VirtualClock, run_virtual
from hub.delivery.phone import PhoneNotifier
from hub.delivery.router import DeliveryRouter
from hub.events import Channel, Direction, Fate, SignalKind, SignalRecord

KEY = bytes.fromhex("231d39c1d7cc1ab1aee224cd096db932")
ADDRESS = "54:48:E6:8F:80:A5"
HUB_RADIO = "B8:27:EB:00:00:0A"
PERIOD_S = 60
START = datetime(2026, 3, 1, 12, tzinfo=UTC)


def _signal() -> SignalRecord:
    return SignalRecord(
        "s1",
        Direction.RECEIVED,
        SignalKind.THINKING_OF_YOU,
        "Alex",
        1,
        START,
        Fate.RECEIVED,
        None,
        None,
        START,
    )


@contextlib.asynccontextmanager
async def sams_home(tmp_path: Path) -> AsyncIterator[tuple[HubEar, SimButton, DeliveryRouter]]:
    air = AirServer(RadioConditions(noise_sigma_db=2.0))
    air.place(HUB_RADIO, 0.0, 0.0)
    async with air, open_hub_ear(air.address, HUB_RADIO, tmp_path / "hub", VirtualClock(START)) as ear:
        ear.register(ADDRESS, KEY, "Sam")
        router = DeliveryRouter(
            person="Sam",
            partner="Alex",
            registry=ear.side.registry,
            feedback=ear.side.feedback,
            phone=PhoneNotifier([]),
        )
        async with SimButton(
            air=air.address,
            address=ADDRESS,
            key=KEY,
            state_dir=tmp_path / "button",
            x=2.0,
            power_mode="wearable",
            listen_period_s=PERIOD_S,
        ) as button:
            await button.wait_for_deep_sleep()
            yield ear, button, router


def test_the_signal_is_held_then_played_in_the_next_window_not_sent_to_the_phone(tmp_path: Path) -> None:
    async def scene() -> None:
        async with sams_home(tmp_path) as (_ear, button, router):
            held: list[str] = []

            async def waiting(text: str) -> None:
                held.append(text)
                assert button.outputs == []  # told before the button played anything

            outcome = await router.deliver(_signal(), waiting=waiting)
            assert (outcome.fate, outcome.channel) == (Fate.DELIVERED, Channel.BUTTON)
            assert len(held) == 1
            assert held[0].startswith("waiting for Sam's button to listen (next window in ~")
            assert (await button.wait_for_output()).pattern == "thinking_of_you"

    run_virtual(scene())


def test_the_phone_is_tried_only_after_the_window_passes(tmp_path: Path) -> None:
    async def scene() -> None:
        async with sams_home(tmp_path) as (_ear, button, router):
            await button.move(20_000.0, 0.0)  # Sam took the wearable out of the hub's reach
            held: list[str] = []

            async def waiting(text: str) -> None:
                held.append(text)

            outcome = await router.deliver(_signal(), waiting=waiting)
            assert len(held) == 1  # held first, for one window
            assert outcome.fate is Fate.FAILED  # no phone configured here: the reason says it all
            assert outcome.reason is not None
            assert "missed_window" in outcome.reason
            assert "no phone configured" in outcome.reason
            assert button.outputs == []

    run_virtual(scene())
