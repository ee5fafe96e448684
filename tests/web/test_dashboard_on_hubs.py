"""The dashboard on two real hubs, in headless Chromium: two ``heartline hub`` processes that ask
for a password, joined as a couple on a real mosquitto and a simulated air. Alex logs in, sends
a touch from the page; Sam's page (logged in on Sam's hub) sees it arrive live, and Alex's sees
its fate move on to delivered, live, without a reload.

Uses Debian's ``chromium`` through Playwright's ``executable_path``; nothing is downloaded.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Final

import pytest
from playwright.async_api import Browser, Page, Route, expect

from firmware_sim.air.radio_model import RadioConditions
from firmware_sim.air.server import AirServer
from firmware_sim.button import SimButton
from hub.web.auth import hash_password
from tests.support.chromium import headless_chromium
from tests.support.homes import BUTTON_B, HOME_A, HOME_B, HUB_RADIO_A, HUB_RADIO_B
from tests.support.hub_process import HubButton, HubProcess, HubSpec, hub_process
from tests.support.mosquitto import Broker, free_ports

# Two hub processes, a broker, the air and a browser.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

PASSWORD: Final = "correct horse battery"
# A cheap scrypt cost keeps the logins quick; the production cost is tested in test_auth.
PASSWORD_HASH: Final = hash_password(PASSWORD, log2_n=10, p=1)
NEW_BUTTON: Final = "C0:FF:EE:00:00:1A"
EXPECT_MS: Final = 30_000  # what a page shows within a second; generous for a busy machine


@pytest.fixture
async def air() -> AsyncIterator[AirServer]:
    server = AirServer(RadioConditions(noise_sigma_db=2.0))
    server.place(HUB_RADIO_A, *HOME_A)
    server.place(HUB_RADIO_B, *HOME_B)
    async with server:
        yield server


@pytest.fixture
async def hubs(
    mosquitto_broker: Broker, air: AirServer, tmp_path: Path
) -> AsyncIterator[tuple[HubProcess, HubProcess]]:
    """Alex's hub (no button of its own: Alex sends from the page) and Sam's, with Sam's button."""
    alex_port, sam_port = free_ports(2)
    web = {"require_password": True, "password_hash": PASSWORD_HASH}
    alex = HubSpec("Alex", "Sam", 0, HUB_RADIO_A, alex_port, web=web)
    sam = HubSpec("Sam", "Alex", 1, HUB_RADIO_B, sam_port, (HubButton(BUTTON_B[0], BUTTON_B[1], "Sam"),), web)
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
        hub_process(sam, broker=mosquitto_broker, air_port=air.port, workdir=tmp_path / "sam") as sam_hub,
    ):
        yield alex_hub, sam_hub


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with headless_chromium() as launched:
        yield launched


async def logged_in(browser: Browser, hub: HubProcess) -> Page:
    """A new browser (its own cookies) opening the hub: the login form first, then the dashboard."""
    page = await (await browser.new_context(viewport={"width": 900, "height": 900})).new_page()
    await page.goto(hub.url)
    await expect(page).to_have_url(re.compile(r"/login\?next=/$"))
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Log in").click()
    await expect(page).to_have_url(f"{hub.url}/")
    await expect(page.locator(".home-name")).to_have_text(f"{hub.spec.person}'s home")
    return page


async def test_a_touch_sent_from_one_hubs_page_arrives_live_on_the_others(
    hubs: tuple[HubProcess, HubProcess], browser: Browser
) -> None:
    alex_hub, sam_hub = hubs
    alex, sam = await logged_in(browser, alex_hub), await logged_in(browser, sam_hub)
    for page in (alex, sam):
        await expect(page.locator(".health")).to_contain_text("relay connected", timeout=EXPECT_MS)
        # A real hub has no simulator: no simulated button, away toggle or LED on its page.
        await expect(page.locator(".device")).to_be_hidden()
        await page.evaluate("window.__noReload = true")  # gone if the page reloads
    await expect(sam.locator(".button-list li")).to_contain_text("Sam's button")

    await alex.get_by_role("button", name=re.compile("^Send a touch")).click()

    sent = alex.locator('.feed li[data-direction="sent"]')
    await expect(sent).to_have_count(1)
    await expect(sent).to_contain_text("You sent “thinking of you”")
    arrived = sam.locator('.feed li[data-direction="received"]')
    await expect(arrived).to_have_count(1, timeout=EXPECT_MS)
    await expect(arrived).to_contain_text("Alex: “thinking of you”")
    await expect(arrived.locator(".fate")).to_have_text("delivered · button", timeout=EXPECT_MS)
    # Sam's button confirmed the buzz; the receipt came back and moved Alex's line on, live.
    await expect(sent.locator(".fate")).to_have_text("delivered · button", timeout=EXPECT_MS)
    for page in (alex, sam):
        assert await page.evaluate("window.__noReload") is True
    # Each hub has heard the other's retained status: the page names the partner's hub online.
    await expect(alex.locator(".partner-hub")).to_contain_text("Sam's hub: online", timeout=EXPECT_MS)
    await expect(sam.locator(".partner-hub")).to_contain_text("Alex's hub: online", timeout=EXPECT_MS)

    # Logging out ends the session: back to the login form, and the API says 401 again.
    await alex.get_by_role("button", name="Log out").click()
    await expect(alex).to_have_url(re.compile(r"/login$"))
    assert (await alex.request.get(f"{alex_hub.url}/api/health")).status == 401


async def test_a_late_answer_to_send_never_moves_the_line_back(
    hubs: tuple[HubProcess, HubProcess], browser: Browser
) -> None:
    """The answer to "Send a touch" says "queued"; the live stream may have moved the line on to
    delivered before that answer lands (a busy machine). Held back here until it has: the line
    stays delivered."""
    alex_hub, _ = hubs
    alex = await logged_in(browser, alex_hub)
    await expect(alex.locator(".health")).to_contain_text("relay connected", timeout=EXPECT_MS)
    await expect(alex.locator(".partner-hub")).to_contain_text("Sam's hub: online", timeout=EXPECT_MS)
    sent = alex.locator('.feed li[data-direction="sent"]')
    live_delivered = asyncio.Event()
    answered: list[str] = []

    async def answer_late(route: Route) -> None:
        if route.request.method != "POST":
            await route.continue_()
            return
        response = await route.fetch()
        answered.append((await response.json())["fate"])
        await live_delivered.wait()
        await route.fulfill(response=response)

    await alex.route("**/api/signals", answer_late)
    await alex.get_by_role("button", name=re.compile("^Send a touch")).click()
    # The stream alone puts the line up and moves it on to delivered.
    await expect(sent.locator(".fate")).to_have_text("delivered · button", timeout=EXPECT_MS)
    live_delivered.set()
    # The send button is enabled again once the late answer has been shown.
    await expect(alex.get_by_role("button", name=re.compile("^Send a touch"))).to_be_enabled()
    assert answered == ["queued"]
    await expect(sent).to_have_count(1)
    await expect(sent.locator(".fate")).to_have_text("delivered · button")


async def test_a_fresh_button_is_paired_from_the_page_and_removed_again(
    hubs: tuple[HubProcess, HubProcess], browser: Browser, air: AirServer, tmp_path: Path
) -> None:
    alex_hub, _ = hubs
    alex = await logged_in(browser, alex_hub)
    await expect(alex.locator(".button-list")).to_contain_text("No buttons registered.")
    # Fresh from the factory: no key, in pairing mode from power-on, a metre and a half away.
    fresh = SimButton(
        air=air.address,
        address=NEW_BUTTON,
        key=None,
        x=HOME_A[0] + 1.5,
        y=HOME_A[1],
        state_dir=tmp_path / "new",
    )
    async with fresh:
        form = alex.locator(".pair-form")
        await expect(form.get_by_label("Owner")).to_have_value("Alex")  # this hub's person
        await form.get_by_role("button", name="Pair a button").click()
        status = form.locator(".pair-status")
        await expect(status).to_contain_text("Looking for a button in pairing mode")
        await expect(status).to_have_text(f"Paired: Alex's button {NEW_BUTTON}.", timeout=EXPECT_MS)
        await fresh.wait_for_pairing("paired")
        item = alex.locator(f'.button-list li[data-address="{NEW_BUTTON}"]')
        await expect(item).to_contain_text("Alex's button")

        # Removing asks once more, then the button is gone from the hub.
        remove = item.get_by_role("button", name="Remove")
        await remove.click()
        await item.get_by_role("button", name="Remove for good?").click()
        await expect(alex.locator(".button-list")).to_contain_text("No buttons registered.")
