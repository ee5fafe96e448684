"""The demo dashboard in a real headless Chromium: a press on Alex's side arrives on Sam's, live.

Uses Debian's ``chromium`` (installed by ``make test``) through Playwright's ``executable_path``;
nothing is downloaded. ``HEARTLINE_UPDATE_SCREENSHOT=1`` refreshes docs/demo.png from this run.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Final

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.support.demo_process import RunningDemo

ROOT: Final = Path(__file__).resolve().parents[2]
CHROMIUM_FLAGS: Final = [
    "--no-sandbox",  # CI runs as root
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",  # the machine has no internet: no update or sync calls
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.fail("chromium not found; `make test` installs Debian's chromium", pytrace=False)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1200, "height": 820})
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.mark.timeout(90)
def test_a_touch_on_one_side_arrives_live_on_the_other(
    running_demo: RunningDemo, page: Page, tmp_path: Path
) -> None:
    page.goto(running_demo.url)
    alex, sam = page.locator("#home-a"), page.locator("#home-b")
    expect(alex.locator(".home-name")).to_have_text("Alex's home")
    expect(sam.locator(".health")).to_contain_text("relay connected", timeout=15_000)
    page.evaluate("window.__noReload = true")  # gone if the page reloads

    alex.get_by_role("button", name="Touch").click()

    arrived = sam.locator('.feed li[data-direction="received"]')
    expect(arrived).to_have_count(1, timeout=20_000)
    expect(arrived).to_contain_text("Alex")
    expect(arrived.locator(".fate")).to_have_text("delivered · button", timeout=20_000)
    expect(sam.locator(".device-state")).to_contain_text("thinking of you")
    expect(alex.locator('.feed li[data-direction="sent"] .fate')).to_have_text("delivered · button")
    assert page.evaluate("window.__noReload") is True

    shot = tmp_path / "demo.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    if os.environ.get("HEARTLINE_UPDATE_SCREENSHOT") == "1":
        shutil.copyfile(shot, ROOT / "docs" / "demo.png")


@pytest.mark.timeout(60)
def test_the_dashboard_fits_a_phone_screen(running_demo: RunningDemo, browser: Browser) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    try:
        phone = context.new_page()
        phone.goto(running_demo.url)
        expect(phone.locator("#home-b .home-name")).to_have_text("Sam's home")
        width = phone.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"the page scrolls sideways on a phone ({width}px wide)"
    finally:
        context.close()
