"""Touches made out of range are kept by the button and arrive, in order, once a hub hears it.

The real firmware (SimButton) on the real air server, heard by the hub's own BLE side
(firmware_sim.scenario.hub_ear): the button is carried out of range, touched, brought back;
the hub reads its kept list (device/keep.py) and acknowledges it. The kept list is read from
the button's own flash, as it would be after a reboot.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from device import keep
from device.flash import FileStorage
from device.state import State
from firmware_sim.air.radio_model import RadioConditions
from firmware_sim.air.server import AirServer
from firmware_sim.button import SimButton
from firmware_sim.scenario.hub_ear import HubEar, open_hub_ear
from hub.clock import SystemClock
from hub.events import Gesture, SignalKind
from tests.support.waiting import eventually

KEY = bytes.fromhex("231d39c1d7cc1ab1aee224cd096db932")
ADDRESS = "54:48:E6:8F:80:A6"
HUB_RADIO = "B8:27:EB:00:00:0B"
FAR = 3000.0  # metres: no advert of the button reaches the hub


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


def kept(state_dir: Path) -> list[list[int]]:
    """The touches the button's flash keeps (counter, gesture, age ms)."""
    return State(FileStorage(str(state_dir))).kept


def dropped(state_dir: Path) -> int:
    return State(FileStorage(str(state_dir))).dropped


async def test_touches_made_out_of_range_arrive_once_in_order(
    air: AirServer, hub: HubEar, tmp_path: Path
) -> None:
    state_dir = tmp_path / "button"
    async with SimButton(air=air.address, address=ADDRESS, key=KEY, state_dir=state_dir, x=2.0) as sim:
        await sim.press("tap")
        first = await hub.next_event()
        assert (first.counter, first.made_at) == (1, None)  # heard when made
        assert [entry[0] for entry in kept(state_dir)] == [1]  # kept until a batch is acknowledged

        await sim.move(FAR, 0.0)
        for gesture in ("tap", "double_tap", "long_press"):
            await sim.press(gesture)
        assert [entry[0] for entry in kept(state_dir)] == [1, 2, 3, 4]  # 1: heard, not yet acked
        assert len(hub.events) == 1  # nothing reached the hub

        await sim.move(2.0, 0.0)
        events = await hub.wait_for_events(4)
        await eventually(lambda: kept(state_dir) == [], what="the kept list emptied by the hub's ack")
        await asyncio.sleep(1.5)  # a window in which no second copy may come
        assert sim.radio_activity.connections == 2  # read and acknowledge, then acknowledge
    away = hub.events[1:]
    assert len(hub.events) == 4
    assert [e.counter for e in away] == [2, 3, 4]
    assert [e.gesture for e in away] == [Gesture.TAP, Gesture.DOUBLE_TAP, Gesture.LONG_PRESS]
    made = [e.made_at for e in away]
    assert all(m is not None for m in made)
    assert made == sorted(made)  # type: ignore[type-var]
    assert all(e.made_at is not None and e.made_at <= e.at for e in away)
    assert events[0].made_at is None


@pytest.mark.slow  # ten touches, each advertised to its end
async def test_touches_heard_in_range_are_acknowledged_in_batches(
    air: AirServer, hub: HubEar, tmp_path: Path
) -> None:
    touches = keep.ACK_AT + 2
    state_dir = tmp_path / "button"
    async with SimButton(air=air.address, address=ADDRESS, key=KEY, state_dir=state_dir, x=2.0) as sim:
        for n in range(1, touches + 1):
            await sim.press("tap")
            event = await hub.next_event()
            assert (event.counter, event.made_at) == (n, None)
            if n == keep.ACK_AT:  # half the bound: one connection acknowledges the batch
                await eventually(lambda: kept(state_dir) == [], what="the batch acknowledged")
        await asyncio.sleep(1.5)  # a window in which no further connection may open
        connections = sim.radio_activity.connections
    assert [entry[0] for entry in kept(state_dir)] == list(range(keep.ACK_AT + 1, touches + 1))
    assert 1 <= connections <= math.ceil(touches / keep.ACK_AT)
    assert len(hub.events) == touches
    assert all(not e.made_away for e in hub.events)


async def test_a_feedback_connection_carries_the_acknowledgement(
    air: AirServer, hub: HubEar, tmp_path: Path
) -> None:
    state_dir = tmp_path / "button"
    async with SimButton(air=air.address, address=ADDRESS, key=KEY, state_dir=state_dir, x=2.0) as sim:
        for _ in range(3):
            await sim.press("tap")
            await hub.next_event()
        assert sim.radio_activity.connections == 0  # heard touches cost no connection
        await hub.send_feedback(ADDRESS, SignalKind.THINKING_OF_YOU)
        await eventually(lambda: kept(state_dir) == [], what="the acknowledgement after the feedback")
        assert sim.radio_activity.connections == 1
    assert hub.side.feedback.piggybacked_acks == 1


async def test_a_reboot_keeps_the_touches_no_hub_acknowledged(
    air: AirServer, hub: HubEar, tmp_path: Path
) -> None:
    state_dir = tmp_path / "button"
    async with SimButton(air=air.address, address=ADDRESS, key=KEY, state_dir=state_dir, x=FAR) as sim:
        await sim.press("tap")
        await sim.press("double_tap")
    assert [entry[0] for entry in kept(state_dir)] == [1, 2]
    async with SimButton(air=air.address, address=ADDRESS, key=KEY, state_dir=state_dir, x=FAR) as sim:
        await asyncio.sleep(0.5)
        assert [entry[0] for entry in kept(state_dir)] == [1, 2]  # the reboot kept them
        await sim.move(2.0, 0.0)
        events = await hub.wait_for_events(2)
        await eventually(lambda: kept(state_dir) == [], what="the hub's acknowledgement")
    assert [(e.counter, e.gesture) for e in events] == [(1, Gesture.TAP), (2, Gesture.DOUBLE_TAP)]


@pytest.mark.slow  # eighteen touches
async def test_beyond_the_bound_the_oldest_are_kept_and_the_rest_counted(
    air: AirServer, hub: HubEar, tmp_path: Path
) -> None:
    state_dir = tmp_path / "button"
    async with SimButton(air=air.address, address=ADDRESS, key=KEY, state_dir=state_dir, x=FAR) as sim:
        for _ in range(keep.MAX_KEPT + 2):
            await sim.press("tap")
        assert [entry[0] for entry in kept(state_dir)] == list(range(1, keep.MAX_KEPT + 1))
        assert dropped(state_dir) == 2
        await sim.move(2.0, 0.0)
        events = await hub.wait_for_events(keep.MAX_KEPT)
        await eventually(
            lambda: kept(state_dir) == [] and dropped(state_dir) == 0,
            what="the kept list and its dropped count acknowledged",
        )
    assert [e.counter for e in events] == list(range(1, keep.MAX_KEPT + 1))
    assert hub.side.ingest.rejected["kept_dropped"] == 2  # counted once, not per advert
