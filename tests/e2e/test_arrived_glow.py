"""The "it arrived" glow, through two real hubs: Sam taps Sam's button, Alex's button buzzes, and
when Alex's hub's receipt says delivered, Sam's hub makes Sam's button glow softly (the real
firmware plays the motorless "arrived" pattern). With ``arrived_glow`` turned off on the
dashboard's settings, the next delivered touch glows nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from firmware_sim.air.radio_model import RadioConditions
from firmware_sim.air.server import AirServer
from firmware_sim.button import SimButton
from tests.support.homes import BUTTON_A, BUTTON_B, HOME_A, HOME_B, HUB_RADIO_A, HUB_RADIO_B
from tests.support.hub_process import HubButton, HubProcess, HubSpec, hub_process
from tests.support.mosquitto import Broker, free_ports
from tests.support.waiting import eventually, eventually_async

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]  # two hub processes, two buttons


@pytest.fixture
async def air() -> AsyncIterator[AirServer]:
    server = AirServer(RadioConditions(noise_sigma_db=2.0))
    server.place(HUB_RADIO_A, *HOME_A)
    server.place(HUB_RADIO_B, *HOME_B)
    async with server:
        yield server


@pytest.fixture
async def homes(
    mosquitto_broker: Broker, air: AirServer, tmp_path: Path
) -> AsyncIterator[tuple[HubProcess, SimButton, SimButton]]:
    """Sam's hub and button, Alex's button (and hub), each at home."""
    alex_port, sam_port = free_ports(2)
    alex = HubSpec("Alex", "Sam", 0, HUB_RADIO_A, alex_port, (HubButton(BUTTON_A[0], BUTTON_A[1], "Alex"),))
    sam = HubSpec("Sam", "Alex", 1, HUB_RADIO_B, sam_port, (HubButton(BUTTON_B[0], BUTTON_B[1], "Sam"),))
    alex_button = SimButton(
        air=air.address, address=BUTTON_A[0], key=BUTTON_A[1], x=HOME_A[0] + 2, y=HOME_A[1],
        state_dir=tmp_path / "alex-button",
    )  # fmt: skip
    sam_button = SimButton(
        air=air.address, address=BUTTON_B[0], key=BUTTON_B[1], x=HOME_B[0] + 2, y=HOME_B[1],
        state_dir=tmp_path / "sam-button",
    )  # fmt: skip
    async with (
        alex_button,
        sam_button,
        hub_process(alex, broker=mosquitto_broker, air_port=air.port, workdir=tmp_path / "alex"),
        hub_process(sam, broker=mosquitto_broker, air_port=air.port, workdir=tmp_path / "sam") as sam_hub,
    ):
        yield sam_hub, sam_button, alex_button


async def delivered(client: httpx.AsyncClient, hub: HubProcess, count: int) -> list[dict[str, Any]] | None:
    signals = (await client.get(f"{hub.url}/api/signals")).json()
    done = [s for s in signals if s["direction"] == "sent" and s["fate"] == "delivered"]
    return done if len(done) >= count else None


async def test_the_senders_button_glows_when_the_partners_receipt_says_delivered(
    homes: tuple[HubProcess, SimButton, SimButton],
) -> None:
    sam_hub, sam_button, alex_button = homes
    await sam_button.press("tap")
    await eventually(lambda: alex_button.outputs, what="Alex's button to buzz")
    glow = await sam_button.wait_for_output()
    assert glow.pattern == "arrived"
    async with httpx.AsyncClient() as client:
        await eventually_async(lambda: delivered(client, sam_hub, 1), what="the receipt at Sam's hub")

        settings = (await client.get(f"{sam_hub.url}/api/settings")).json()
        assert settings["arrived_glow"] is True  # the default
        changed = await client.put(f"{sam_hub.url}/api/settings", json={**settings, "arrived_glow": False})
        assert changed.status_code == 200, changed.text
        assert changed.json()["arrived_glow"] is False

        await sam_button.press("tap")
        await eventually(lambda: len(alex_button.outputs) >= 2, what="Alex's button to buzz again")
        await eventually_async(lambda: delivered(client, sam_hub, 2), what="the second receipt")
    await asyncio.sleep(1.5)  # a window in which no glow may come
    assert [o.pattern for o in sam_button.outputs] == ["arrived"]
