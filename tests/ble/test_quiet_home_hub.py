"""A real ``heartline hub`` on the simulated air: when the home's only button is carried out, the
hub is quiet, not broken (no power-cycle, no red health); when its radio really goes deaf
(a neighbour's device falls silent with the button), the adapter is still power-cycled."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from firmware_sim.air.radio_model import RadioConditions
from firmware_sim.air.server import AirServer
from firmware_sim.button import SimButton
from hub.ble.scanning import QUIET_DETAIL
from tests.support.hub_process import HubButton, HubProcess, HubSpec, hub_process
from tests.support.mosquitto import Broker, free_ports
from tests.support.waiting import eventually_async

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]  # a real hub process

HUB_RADIO = "B8:27:EB:00:00:0B"
BUTTON = ("C0:FF:EE:00:00:0B", bytes(range(16)))
NEIGHBOUR = "C0:FF:EE:00:00:1E"  # someone else's device next door: not registered here
SILENCE_S = 2.0  # the shortest watchdog window the config allows: many windows pass quickly
QUIET_WINDOWS = 10  # silence windows watched after the hub went quiet (each once an escalation)


@pytest.fixture
async def air() -> AsyncIterator[AirServer]:
    server = AirServer(RadioConditions(noise_sigma_db=0.0))
    server.place(HUB_RADIO, 0.0, 0.0)
    async with server:
        yield server


@contextlib.asynccontextmanager
async def _sams_hub(broker: Broker, air: AirServer, workdir: Path) -> AsyncIterator[HubProcess]:
    (port,) = free_ports(1)
    spec = HubSpec(
        "Sam",
        "Alex",
        1,
        HUB_RADIO,
        port,
        (HubButton(BUTTON[0], BUTTON[1], "Sam"),),
        ble={"watchdog_silence_s": SILENCE_S},
    )
    async with hub_process(spec, broker=broker, air_port=air.port, workdir=workdir) as hub:
        yield hub


async def _json(client: httpx.AsyncClient, path: str) -> dict[str, Any]:
    response = await client.get(path)
    response.raise_for_status()
    body: dict[str, Any] = response.json()
    return body


async def _metrics(client: httpx.AsyncClient) -> str:
    response = await client.get("/metrics")
    response.raise_for_status()
    return response.text


async def _sam(client: httpx.AsyncClient) -> dict[str, Any]:
    people: list[dict[str, Any]] = (await _json(client, "/api/presence"))["people"]
    return next(p for p in people if p["person"] == "Sam")


async def _ble(client: httpx.AsyncClient) -> str:
    return str((await _json(client, "/api/health"))["ble"])


def _power_cycles(metrics: str) -> int:
    found = re.findall(
        r'heartline_adapter_recoveries_total\{[^}]*step="power-cycle adapter"[^}]*\} (\d+)', metrics
    )
    return sum(int(n) for n in found)


async def _walk_away(button: SimButton) -> None:
    for x in (5.0, 10.0, 20.0, 40.0, 80.0, 200.0, 3000.0):
        await button.move(x, 0.0)
        await asyncio.sleep(0.3)


async def test_the_only_button_carried_out_leaves_a_quiet_hub_not_a_broken_one(
    mosquitto_broker: Broker, air: AirServer, tmp_path: Path
) -> None:
    button = SimButton(air=air.address, address=BUTTON[0], key=BUTTON[1], x=2.0, state_dir=tmp_path / "b")
    async with (
        button,
        _sams_hub(mosquitto_broker, air, tmp_path / "sam") as hub,
        httpx.AsyncClient(base_url=hub.url, timeout=10.0) as client,
    ):

        async def home() -> bool:
            return bool((await _sam(client))["state"] == "home")

        await eventually_async(home, what="Sam home")
        await _walk_away(button)

        async def leaving() -> bool:
            return bool((await _sam(client))["state"] == "leaving")

        await eventually_async(leaving, what="Sam leaving")

        async def quiet() -> bool:
            return await _ble(client) == f"quiet: {QUIET_DETAIL}"

        await eventually_async(quiet, what="a quiet hub")
        seen: set[str] = set()
        for _ in range(QUIET_WINDOWS * 4):  # every quarter window, for QUIET_WINDOWS windows
            health = await _json(client, "/api/health")
            seen.add(health["ble"])
            assert health["status"] == "ok", health
            await asyncio.sleep(SILENCE_S / 4)
        assert seen == {f"quiet: {QUIET_DETAIL}"}
        assert _power_cycles(await _metrics(client)) == 0
        assert "power-cycl" not in hub.log_text()


async def test_a_deaf_radio_beside_a_neighbour_is_still_power_cycled(
    mosquitto_broker: Broker, air: AirServer, tmp_path: Path
) -> None:
    button = SimButton(air=air.address, address=BUTTON[0], key=BUTTON[1], x=2.0, state_dir=tmp_path / "b")
    neighbour = SimButton(air=air.address, address=NEIGHBOUR, key=BUTTON[1], x=12.0, state_dir=tmp_path / "n")
    async with (
        button,
        neighbour,
        _sams_hub(mosquitto_broker, air, tmp_path / "sam") as hub,
        httpx.AsyncClient(base_url=hub.url, timeout=10.0) as client,
    ):

        async def home() -> bool:
            return bool((await _sam(client))["state"] == "home")

        await eventually_async(home, what="Sam home")
        air.stall(HUB_RADIO, until="rejoin")  # powered and scanning, and nothing delivered

        async def power_cycled() -> bool:
            return _power_cycles(await _metrics(client)) >= 1

        await eventually_async(power_cycled, what="a power cycle")

        async def back() -> bool:
            return await _ble(client) == "ok"

        await eventually_async(back, what="Bluetooth ok again")
