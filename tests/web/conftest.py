"""Two running homes (real hubs over real mosquitto) and an HTTP client on the demo's app of them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from firmware_sim.home import SimHome
from hub.web.demo_app import DemoHome, demo_app
from tests.support.homes import HOME_A, HOME_B, HUB_RADIO_A, HUB_RADIO_B, Homes, two_homes
from tests.support.mosquitto import Broker


@pytest.fixture
async def homes(mosquitto_broker: Broker, tmp_path: Path) -> AsyncIterator[Homes]:
    async with two_homes(mosquitto_broker, tmp_path) as running:
        yield running


@pytest.fixture
async def client(homes: Homes) -> AsyncIterator[httpx.AsyncClient]:
    places = {"a": HOME_A, "b": HOME_B}  # a device can be carried to the other home: a visit
    app = demo_app(
        {
            "a": DemoHome(
                homes.hub_a,
                SimHome("a", homes.air, HUB_RADIO_A, HOME_A, {"a-button": homes.button_a}, places),
            ),
            "b": DemoHome(
                homes.hub_b,
                SimHome("b", homes.air, HUB_RADIO_B, HOME_B, {"b-button": homes.button_b}, places),
            ),
        }
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1") as http:
        yield http
