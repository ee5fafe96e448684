"""A visit, with two real ``heartline hub`` processes, the real mosquitto and the simulated air.

Sam's wearable runs the real firmware. Sam's hub shares it over the sealed relay; Sam carries it
to Alex's home; Alex's hub sees Sam there, together time accrues, and a touch on Sam's wearable
at Alex's home is sent by Sam's hub, as Sam's, and buzzes Alex's button in the same room. Alex's
touch back buzzes Sam's wearable there: Sam's hub seals the command, Alex's hub writes it.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
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

pytestmark = [pytest.mark.slow, pytest.mark.timeout(360)]

# Together time needs both people heard for a while; the bound is for a busy machine.
TOGETHER_S = 120.0


@pytest.fixture
async def air() -> AsyncIterator[AirServer]:
    server = AirServer(RadioConditions(noise_sigma_db=2.0))
    server.place(HUB_RADIO_A, *HOME_A)
    server.place(HUB_RADIO_B, *HOME_B)
    async with server:
        yield server


async def _get(client: httpx.AsyncClient, hub: HubProcess, path: str) -> Any:
    answer = await client.get(f"{hub.url}{path}", timeout=10)
    answer.raise_for_status()
    return answer.json()


def _present(presence: dict[str, Any], person: str) -> bool:
    return any(p["person"] == person and p["present"] for p in presence["people"])


async def test_a_visit_is_seen_and_a_touch_there_buzzes_the_hosts_button(
    mosquitto_broker: Broker, air: AirServer, tmp_path: Path
) -> None:
    port_a, port_b = free_ports(2)
    alex = HubSpec("Alex", "Sam", 0, HUB_RADIO_A, port_a, (HubButton(*BUTTON_A, "Alex"),))
    sam = HubSpec("Sam", "Alex", 1, HUB_RADIO_B, port_b, (HubButton(*BUTTON_B, "Sam"),))
    async with (
        hub_process(alex, broker=mosquitto_broker, air_port=air.port, workdir=tmp_path / "a") as hub_a,
        hub_process(sam, broker=mosquitto_broker, air_port=air.port, workdir=tmp_path / "b") as hub_b,
        SimButton(
            air=air.address,
            address=BUTTON_A[0],
            key=BUTTON_A[1],
            x=HOME_A[0] + 2,
            y=HOME_A[1],
            state_dir=tmp_path / "alex-button",
        ) as alex_button,
        SimButton(
            air=air.address,
            address=BUTTON_B[0],
            key=BUTTON_B[1],
            x=HOME_B[0] + 3,
            y=HOME_B[1],
            state_dir=tmp_path / "sam-wearable",
        ) as sam_wearable,
        httpx.AsyncClient() as client,
    ):

        async def shared() -> bool:
            buttons = await _get(client, hub_a, "/api/buttons")
            return any(b["address"] == BUTTON_B[0] and b["owner"] == "Sam" for b in buttons)

        await eventually_async(shared, what="Sam's hub to share Sam's wearable with Alex's hub")

        await sam_wearable.move(HOME_A[0] + 3, HOME_A[1])  # Sam visits Alex

        async def sam_at_alex() -> bool:
            return _present(await _get(client, hub_a, "/api/presence"), "Sam")

        await eventually_async(sam_at_alex, what="Alex's hub to see Sam at Alex's home")
        assert _present(await _get(client, hub_a, "/api/presence"), "Alex")

        await sam_wearable.press("tap")
        played = await eventually(lambda: alex_button.outputs, what="Alex's button to buzz")
        assert played[0].pattern == "thinking_of_you"

        async def logged() -> list[Any]:
            signals = await _get(client, hub_b, "/api/signals")
            return [s for s in signals if s["direction"] == "sent" and s["fate"] == "delivered"]

        sent = await eventually_async(logged, what="Sam's hub to log the touch as Sam's, delivered")
        received = await _get(client, hub_a, "/api/signals")
        assert [s["id"] for s in received if s["direction"] == "received"] == [sent[0]["id"]]

        async def together_here() -> bool:
            stats = await _get(client, hub_a, "/api/stats?days=1")
            return bool(stats["together_hours_by_day"][-1] > 0)

        await eventually_async(together_here, within_s=TOGETHER_S, what="together time on Alex's hub")

        async def together_there() -> bool:  # told by Alex's hub: Sam's own home was empty
            stats = await _get(client, hub_b, "/api/stats?days=1")
            return bool(stats["together_hours_by_day"][-1] > 0)

        await eventually_async(together_there, within_s=TOGETHER_S, what="together time on Sam's hub")
        sam_home = await _get(client, hub_b, "/api/presence")
        assert not _present(sam_home, "Alex")  # Sam's hub counts the visit, it does not see Alex

        # Alex answers: Sam's wearable, at Alex's home, plays it (sealed by Sam's hub).
        await alex_button.press("tap")
        felt = await eventually(lambda: sam_wearable.outputs, what="Sam's wearable to buzz at Alex's home")
        assert felt[0].pattern in ("thinking_of_you", "felt_it")

        async def answered() -> list[Any]:
            signals = await _get(client, hub_b, "/api/signals")
            return [s for s in signals if s["direction"] == "received" and s["fate"] == "delivered"]

        (got,) = await eventually_async(answered, what="Sam's hub to log Alex's touch as delivered")
        assert got["channel"] == "button"
        assert got["kind"] == felt[0].pattern  # what the wearable played is what both feeds say

        async def told() -> list[Any]:
            signals = await _get(client, hub_a, "/api/signals")
            return [s for s in signals if s["id"] == got["id"] and s["fate"] == "delivered"]

        (sent_back,) = await eventually_async(told, what="Alex's feed to say delivered")
        assert sent_back["channel"] == "button"
        assert sent_back["kind"] == got["kind"]


async def test_a_button_for_neither_person_is_refused(
    mosquitto_broker: Broker, air: AirServer, tmp_path: Path
) -> None:
    (port,) = free_ports(1)
    alex = HubSpec("Alex", "Sam", 0, HUB_RADIO_A, port)
    async with hub_process(alex, broker=mosquitto_broker, air_port=air.port, workdir=tmp_path / "a") as hub:
        added = await asyncio.to_thread(
            subprocess.run,
            [
                sys.executable,
                "-m",
                "hub.cli",
                "button",
                "add",
                "--bthome",
                "C0:FF:EE:00:00:99",
                "--key",
                BUTTON_A[1].hex(),
                "--owner",
                "Kim",
                "--hub",
                hub.url,
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert added.returncode != 0
        (line,) = added.stderr.strip().splitlines()
        assert "owner" in line
        assert "Kim" in line
        async with httpx.AsyncClient() as client:
            answer = await client.post(
                f"{hub.url}/api/buttons",
                json={
                    "kind": "bthome",
                    "address": "C0:FF:EE:00:00:99",
                    "key": BUTTON_A[1].hex(),
                    "owner": "Kim",
                },
            )
            assert answer.status_code == 422
            assert (await client.get(f"{hub.url}/api/buttons")).json() == []
