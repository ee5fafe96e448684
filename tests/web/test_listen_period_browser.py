"""A sleepy wearable's listen period, set from the dashboard in headless Chromium on a real
``heartline hub`` process that asks for a password (so the change carries the session's CSRF
token): the menu shows each period's latency, Set says it applies at the next listen window, and
the button's own confirmation comes back as the new period.

Uses Debian's ``chromium`` through Playwright's ``executable_path``; nothing is downloaded.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Final

import pytest
from playwright.async_api import Browser, expect

from firmware_sim.air.radio_model import RadioConditions
from firmware_sim.air.server import AirServer
from firmware_sim.button import SimButton
from hub.web.auth import hash_password
from tests.support.chromium import headless_chromium
from tests.support.homes import HOME_A, HUB_RADIO_A
from tests.support.hub_process import HubButton, HubProcess, HubSpec, hub_process
from tests.support.mosquitto import Broker, free_ports

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]

PASSWORD: Final = "correct horse battery"
PASSWORD_HASH: Final = hash_password(PASSWORD, log2_n=10, p=1)  # cheap: the login stays quick
WEARABLE: Final = "54:48:E6:8F:80:C7"
KEY: Final = bytes.fromhex("8c1f2e3d4a5b6c7d8e9fa0b1c2d3e4f5")
PERIOD_S: Final = 10  # the shortest: its next window comes soon in real time
EXPECT_MS: Final = 60_000  # one listen window, generous for a busy machine


@pytest.fixture
async def hub(mosquitto_broker: Broker, tmp_path: Path) -> AsyncIterator[HubProcess]:
    air = AirServer(RadioConditions(noise_sigma_db=2.0))
    air.place(HUB_RADIO_A, *HOME_A)
    (port,) = free_ports(1)
    web = {"require_password": True, "password_hash": PASSWORD_HASH}
    spec = HubSpec("Alex", "Sam", 0, HUB_RADIO_A, port, (HubButton(WEARABLE, KEY, "Alex"),), web)
    # One statement, entered in order: the air is up before the hub and the wearable join it.
    async with (
        air,
        hub_process(spec, broker=mosquitto_broker, air_port=air.port, workdir=tmp_path / "hub") as running,
        SimButton(
            air=air.address,
            address=WEARABLE,
            key=KEY,
            state_dir=tmp_path / "wearable",
            x=HOME_A[0] + 2.0,
            y=HOME_A[1],
            power_mode="wearable",
            listen_period_s=PERIOD_S,
        ),
    ):
        yield running


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with headless_chromium() as launched:
        yield launched


async def test_the_period_is_set_from_the_page(hub: HubProcess, browser: Browser) -> None:
    page = await (await browser.new_context(viewport={"width": 900, "height": 900})).new_page()
    await page.goto(hub.url)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Log in").click()
    await expect(page).to_have_url(f"{hub.url}/")
    menu = page.get_by_label("How often Alex's button listens")
    await expect(menu).to_be_visible(timeout=EXPECT_MS)  # once the hub heard it listening
    await expect(menu.locator("option")).to_have_text(
        [
            "every 10 s · a touch reaches it within about 10 s",
            "every 30 s · a touch reaches it within about 30 s",
            "every 60 s · a touch reaches it within about a minute",
            "every 5 min · a touch reaches it within about 5 minutes",
            "every 15 min · a touch reaches it within about 15 minutes",
        ]
    )
    await menu.select_option("300")
    await page.get_by_role("button", name="Set").click()
    status = page.locator(".listen-status")
    await expect(status).to_have_text("applies at its next listen window…")
    await expect(status).to_have_text("Set: it listens every 5 min now.", timeout=EXPECT_MS)
    await expect(page.locator(".button-list .listen")).to_contain_text(re.compile(r"every 5 min\)"))
    await expect(page.get_by_label("How often Alex's button listens")).to_have_value("300")
