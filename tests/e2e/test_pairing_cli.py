"""``hub.cli.button.button_pair`` against a real HTTP server whose pairing route drives a real
Pairing over the simulated air, with an unprovisioned button running the real firmware."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI

from firmware_sim.air.radio_model import RadioConditions
from firmware_sim.air.server import AirServer
from firmware_sim.button import SimButton
from firmware_sim.scenario.hub_ear import HubEar
from hub.cli.button import button_pair
from hub.errors import HeartlineError
from hub.store.buttons import ButtonRecord
from hub.web.pairing_api import pairing_router
from tests.e2e.test_pairing import ADDRESS, HUB_RADIO, pairing_hub
from tests.support.waiting import WAIT_S

SERVE_TIMEOUT_S = WAIT_S  # uvicorn starts and stops in milliseconds on an idle machine

# A real HTTP server and a pairing over the air; tests/e2e/test_pairing.py has the quick one.
pytestmark = pytest.mark.slow


class Host:
    def __init__(self, hub: HubEar) -> None:
        self._hub = hub

    async def pair(self, owner: str, timeout_s: float, *, replace: bool = False) -> ButtonRecord:
        return await self._hub.side.pairing.pair(owner, timeout_s, replace=replace)


@contextlib.asynccontextmanager
async def serving(app: FastAPI) -> AsyncIterator[str]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, lifespan="off", log_level="warning"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        async with asyncio.timeout(SERVE_TIMEOUT_S):
            while not server.started:  # noqa: ASYNC110 - uvicorn offers a flag, not an event
                await asyncio.sleep(0.01)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        async with asyncio.timeout(SERVE_TIMEOUT_S):
            await task
        sock.close()


@pytest.fixture
async def hub_url(tmp_path: Path) -> AsyncIterator[str]:
    air = AirServer(RadioConditions(noise_sigma_db=2.0))
    air.place(HUB_RADIO, 0.0, 0.0)
    async with air, pairing_hub(air, HUB_RADIO, tmp_path / "hub") as hub:
        app = FastAPI()
        app.include_router(pairing_router(Host(hub)))
        async with serving(app) as url:
            yield url


async def test_cli_pairs_the_button_in_pairing_mode(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    air = AirServer(RadioConditions(noise_sigma_db=2.0))
    air.place(HUB_RADIO, 0.0, 0.0)
    async with air, pairing_hub(air, HUB_RADIO, tmp_path / "hub") as hub:
        app = FastAPI()
        app.include_router(pairing_router(Host(hub)))
        async with (
            serving(app) as url,
            SimButton(air=air.address, address=ADDRESS, key=None, state_dir=tmp_path / "b", x=1.5) as button,
        ):
            assert await asyncio.to_thread(button_pair, url, "Alex", WAIT_S) == 0
            out = capsys.readouterr().out
            assert f"paired button 1: {ADDRESS} for Alex" in out
            assert button.key is not None
            assert button.key.hex() not in out
            assert (await button.wait_for_output()).pattern == "felt_it"


async def test_cli_says_what_to_do_when_no_button_is_in_pairing_mode(
    hub_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(HeartlineError) as caught:
        await asyncio.to_thread(button_pair, hub_url, "Alex", 0.5)
    message = str(caught.value)
    assert message.startswith("pairing failed: no button in pairing mode within 0.5 s")
    assert "hold its pad for 10 s" in message
    assert "\n" not in message
    assert "looking for a button" in capsys.readouterr().out
