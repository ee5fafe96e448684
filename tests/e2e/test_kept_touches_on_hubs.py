"""Touches made out of range, through two real hubs: Sam's button (the real firmware) is carried
away from Sam's hub, touched twice, and brought back. Sam's hub reads the touches the button
kept, relays them over the real mosquitto, and Alex's hub shows both, in order, with when they
were made and that they were made away.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from firmware_sim.air.radio_model import RadioConditions
from firmware_sim.air.server import AirServer
from firmware_sim.button import SimButton
from hub.ble.ingest import AWAY_AFTER_S
from tests.support.homes import BUTTON_B, HOME_A, HOME_B, HUB_RADIO_A, HUB_RADIO_B
from tests.support.hub_process import HubButton, HubProcess, HubSpec, hub_process
from tests.support.mosquitto import Broker, free_ports
from tests.support.waiting import eventually_async

# Two hub processes, a broker, the air, and a minute away from home.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

FAR = 3000.0  # metres from Sam's home (and further from Alex's): no hub hears the button


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
) -> AsyncIterator[tuple[HubProcess, SimButton]]:
    """Alex's hub, and Sam's hub with Sam's button at home."""
    alex_port, sam_port = free_ports(2)
    alex = HubSpec("Alex", "Sam", 0, HUB_RADIO_A, alex_port)
    sam = HubSpec("Sam", "Alex", 1, HUB_RADIO_B, sam_port, (HubButton(BUTTON_B[0], BUTTON_B[1], "Sam"),))
    button = SimButton(
        air=air.address,
        address=BUTTON_B[0],
        key=BUTTON_B[1],
        x=HOME_B[0] + 2,
        y=HOME_B[1],
        state_dir=tmp_path / "sam-button",
    )
    async with (
        button,
        hub_process(alex, broker=mosquitto_broker, air_port=air.port, workdir=tmp_path / "alex") as alex_hub,
        hub_process(sam, broker=mosquitto_broker, air_port=air.port, workdir=tmp_path / "sam"),
    ):
        yield alex_hub, button


async def received(client: httpx.AsyncClient, hub: HubProcess, count: int) -> list[dict[str, Any]] | None:
    signals = (await client.get(f"{hub.url}/api/signals")).json()
    mine = [s for s in signals if s["direction"] == "received"]
    return mine if len(mine) >= count else None


async def test_touches_made_away_reach_the_partners_hub_in_order_marked_made_away(
    homes: tuple[HubProcess, SimButton],
) -> None:
    alex_hub, button = homes
    await button.move(HOME_B[0] + FAR, HOME_B[1])
    await button.press("tap")
    await button.press("double_tap")
    await asyncio.sleep(AWAY_AFTER_S + 2)  # a while away: older than any wait behind an ack
    await button.move(HOME_B[0] + 2, HOME_B[1])

    async with httpx.AsyncClient() as client:
        signals = await eventually_async(
            lambda: received(client, alex_hub, 2), within_s=60, what="both touches at Alex's hub"
        )
    assert len(signals) == 2
    by_seq = sorted(signals, key=lambda s: s["seq"])
    assert [s["kind"] for s in by_seq] == ["thinking_of_you", "celebrate"]
    assert all(s["sender"] == "Sam" for s in by_seq)
    assert all(s["made_away"] is True for s in by_seq)
    made = [datetime.fromisoformat(s["made_at"]) for s in by_seq]
    assert made[0] <= made[1]
    assert all(m <= datetime.fromisoformat(s["created_at"]) for m, s in zip(made, by_seq, strict=True))
