"""A wearable carried to the partner's home: one press is one signal, however many hubs heard it.

The real firmware (SimButton) on the real air, heard by two hubs' own BLE sides. The home hub
hears three touches and, acknowledging lazily (device/keep.py), leaves them kept on the button;
at the host's home the button is touched again and the host's hub, which never heard it, collects
all four from the kept list. The owner's hub sends only the one it had not heard (the relay's
hand-on rule, firmware_sim.scenario.hand_on), and back home the next touch follows in order.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from device.flash import FileStorage
from device.state import State
from firmware_sim.air.radio_model import RadioConditions
from firmware_sim.air.server import AirServer
from firmware_sim.button import SimButton
from firmware_sim.scenario.hand_on import HandOn
from firmware_sim.scenario.hub_ear import HubEar, open_hub_ear
from hub.clock import SystemClock
from hub.events import TouchEvent
from tests.support.waiting import eventually

KEY = bytes.fromhex("231d39c1d7cc1ab1aee224cd096db932")
ADDRESS = "54:48:E6:8F:80:A6"
HOME_RADIO = "B8:27:EB:00:00:0C"
HOST_RADIO = "B8:27:EB:00:00:0D"
HOST_X = 5000.0  # metres: the partner's home, out of the home hub's reach


def kept(state_dir: Path) -> list[int]:
    return [entry[0] for entry in State(FileStorage(str(state_dir))).kept]


@pytest.fixture
async def air() -> AsyncIterator[AirServer]:
    server = AirServer(RadioConditions(noise_sigma_db=2.0))
    server.place(HOME_RADIO, 0.0, 0.0)
    server.place(HOST_RADIO, HOST_X, 0.0)
    async with server:
        yield server


async def test_touches_the_home_hub_heard_are_one_signal_when_the_host_collects_them(
    air: AirServer, tmp_path: Path
) -> None:
    clock = SystemClock()
    async with (
        open_hub_ear(air.address, HOME_RADIO, tmp_path / "home", clock) as home,
        open_hub_ear(air.address, HOST_RADIO, tmp_path / "host", clock) as host,
    ):
        ears = {"home": home, "host": host}
        for ear in ears.values():
            ear.register(ADDRESS, KEY, "Sam")
        gate = HandOn(lambda name: ears[name].side.ingest)
        signals: list[int | None] = []

        def send(heard_at: str, ear: HubEar, events: list[TouchEvent]) -> None:
            signals.extend(e.counter for e in events if gate.signal(heard_at, "home", e))
            ear.events.clear()

        state_dir = tmp_path / "wearable"
        async with SimButton(air=air.address, address=ADDRESS, key=KEY, state_dir=state_dir, x=2.0) as sim:
            for _ in range(3):
                await sim.press("tap")
            send("home", home, await home.wait_for_events(3))
            assert kept(state_dir) == [1, 2, 3]  # heard, not yet acknowledged (a batch is 8)

            await sim.move(HOST_X + 2.0, 0.0)
            await sim.press("double_tap")
            collected = await host.wait_for_events(4)
            # 1..3 acknowledged by the host; 4 too if it came from the list (heard live, it waits
            # for a batch like any touch heard in range).
            await eventually(lambda: kept(state_dir) in ([], [4]), what="the host's acknowledgement")
            # The host's hub never heard 1..3: from its kept list they are touches to hand on.
            assert [e.counter for e in collected] == [1, 2, 3, 4]
            send("host", host, collected)

            await sim.move(2.0, 0.0)
            await sim.press("tap")
            send("home", home, await home.wait_for_events(1))
    assert signals == [1, 2, 3, 4, 5]  # four presses then one: five signals, none twice
    assert gate.already_sent == 3
