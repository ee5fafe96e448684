"""The demo in a real headless Chromium: each side is that hub's own dashboard (a frame of
/{home}/); a press on Alex's side arrives on Sam's, live.

Uses Debian's ``chromium`` (installed by ``make test``) through Playwright's ``executable_path``;
nothing is downloaded. ``HEARTLINE_UPDATE_SCREENSHOT=1`` refreshes docs/demo.png from this run.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Final

import pytest
from playwright.sync_api import Browser, Frame, FrameLocator, Page, expect

from tests.support.chromium import headless_chromium_sync
from tests.support.demo_process import RunningDemo

# Headless Chromium against the demo as a real process.
pytestmark = pytest.mark.slow

ROOT: Final = Path(__file__).resolve().parents[2]
EXPECT_MS: Final = 30_000  # what a page shows within a second; generous for a busy machine


def home(page: Page, home_id: str) -> FrameLocator:
    return page.frame_locator(f"#home-{home_id}")


def home_frame(page: Page, home_id: str) -> Frame:
    frame = page.frame(url=re.compile(rf"/{home_id}/$"))
    assert frame is not None, f"no frame for home {home_id}"
    return frame


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with headless_chromium_sync() as launched:
        yield launched


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1200, "height": 820})
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.mark.timeout(180)
def test_a_touch_on_one_side_arrives_live_on_the_other(
    running_demo: RunningDemo, page: Page, tmp_path: Path
) -> None:
    page.goto(running_demo.url)
    expect(page.locator(".banner")).to_contain_text("Simulated")
    alex, sam = home(page, "a"), home(page, "b")
    expect(alex.locator(".home-name")).to_have_text("Alex's home")
    expect(sam.locator(".health")).to_contain_text("relay connected", timeout=EXPECT_MS)
    for home_id in ("a", "b"):
        home_frame(page, home_id).evaluate("window.__noReload = true")  # gone if the page reloads

    alex.locator(".controls .touch").click()

    arrived = sam.locator('.feed li[data-direction="received"]')
    expect(arrived).to_have_count(1, timeout=EXPECT_MS)
    expect(arrived).to_contain_text("Alex")
    expect(arrived.locator(".fate")).to_have_text("delivered · button", timeout=EXPECT_MS)
    expect(sam.locator(".device-state")).to_contain_text("thinking of you")
    expect(alex.locator('.feed li[data-direction="sent"] .fate')).to_have_text("delivered · button")
    assert all(home_frame(page, h).evaluate("window.__noReload") is True for h in ("a", "b"))
    # The touch reaches the charts too (redrawn shortly after a signal), so the screenshot shows it.
    expect(sam.locator(".touches-chart rect.bar.received")).not_to_have_count(0)
    expect(sam.locator(".touches-chart text.value")).to_have_text("1", timeout=EXPECT_MS)

    shot = tmp_path / "demo.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    if os.environ.get("HEARTLINE_UPDATE_SCREENSHOT") == "1":
        shutil.copyfile(shot, ROOT / "docs" / "demo.png")


@pytest.mark.timeout(180)
def test_the_dashboard_fits_a_phone_screen(running_demo: RunningDemo, browser: Browser) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    try:
        phone = context.new_page()
        phone.goto(running_demo.url)
        expect(home(phone, "b").locator(".home-name")).to_have_text("Sam's home")
        width = phone.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"the page scrolls sideways on a phone ({width}px wide)"
        inner = home_frame(phone, "b").evaluate("document.documentElement.scrollWidth")
        outer = phone.evaluate("document.getElementById('home-b').clientWidth")
        assert inner <= outer, f"Sam's dashboard scrolls sideways in its frame ({inner}px in {outer}px)"
    finally:
        context.close()


@pytest.mark.timeout(180)
def test_each_pane_shows_presence_charts_buttons_history_and_moves(
    running_demo: RunningDemo, page: Page
) -> None:
    page.goto(running_demo.url)
    alex, sam = home(page, "a"), home(page, "b")
    expect(sam.locator(".health")).to_contain_text("relay connected", timeout=EXPECT_MS)

    # Charts are pictures: inline SVG with one bar per week (and per direction for touches).
    for pane in (alex, sam):
        expect(pane.locator(".together-chart svg rect.bar")).not_to_have_count(0)
        expect(pane.locator(".touches-chart svg rect.bar.sent")).not_to_have_count(0)
        expect(pane.locator(".touches-chart svg rect.bar.received")).not_to_have_count(0)
        expect(pane.locator(".touches-chart svg")).to_have_attribute(
            "aria-label", re.compile("touches per week")
        )
    # Presence: each person as this hub sees them, and today's sessions.
    expect(alex.locator('.people li[data-person="Alex"]')).to_contain_text("Alex")
    expect(alex.locator('.people li[data-person="Alex"]')).to_contain_text("is home since", timeout=40_000)
    # Alex's hub cannot hear Sam; Sam's hub shares where Sam is (home, with the button beside it).
    expect(alex.locator('.people li[data-person="Sam"]')).to_have_text(
        re.compile(r"^Sam is home since .+ \(their hub says\)$"), timeout=40_000
    )
    expect(alex.locator(".sessions li")).to_contain_text(["Alex: "])
    # The button with its battery and when it was last heard (a touch reports both); the hub's health.
    button = alex.locator(".button-list li")
    expect(button).to_contain_text("Alex's button")
    alex.locator(".controls .touch").click()
    expect(button).to_contain_text(re.compile(r"\d+ % seen \d+ s ago"), timeout=EXPECT_MS)
    expect(button.locator("meter")).to_have_count(1)
    expect(alex.locator(".health")).to_have_attribute("data-status", "ok")

    # Moving the button away shows it away, and presence says the same: Alex is leaving while the
    # hub confirms the departure, never "home" beside a button 3 km off (and back home again).
    alex.locator(".away-toggle").check()
    expect(alex.locator(".device-where")).to_contain_text("away: 3.0 km from home")
    expect(alex.locator('.people li[data-person="Alex"]')).to_have_text("Alex is leaving…", timeout=40_000)
    alex.locator(".away-toggle").uncheck()
    expect(alex.locator(".device-where")).to_contain_text("at home")
    expect(alex.locator('.people li[data-person="Alex"]')).to_contain_text("is home since", timeout=40_000)

    # A touch and seven sends in a minute: past six, Sam's hub holds the rest (rate limit), saying why
    # and until when.
    page.evaluate(
        """async () => {
            for (let i = 0; i < 7; i += 1) {
                const r = await fetch("/a/api/signals", {
                    method: "POST",
                    headers: {"content-type": "application/json"},
                    body: JSON.stringify({kind: "thinking_of_you"}),
                });
                if (!r.ok) throw new Error(String(r.status));
            }
        }"""
    )
    held = sam.locator('li[data-fate="held"]')
    expect(held).not_to_have_count(0, timeout=30_000)
    held = held.first
    expect(held.locator(".fate")).to_have_text("held")
    expect(held.locator(".meta")).to_contain_text(re.compile(r"held: rate limit .*; release \d{4}-"))
    # Older signals than the live feed shows move to the history.
    expect(sam.locator(".feed li")).to_have_count(6)
    expect(sam.locator(".history-list li")).to_have_count(2)


@pytest.mark.parametrize(
    ("seconds", "words"),
    [
        (10, "sleeps between listen windows (every 10 s): a touch reaches it within about 10 s"),
        (60, "sleeps between listen windows (every 60 s): a touch reaches it within about a minute"),
        (300, "sleeps between listen windows (every 5 min): a touch reaches it within about 5 minutes"),
        (3600, "sleeps between listen windows (every 60 min): a touch reaches it within about an hour"),
    ],
)
def test_a_sleepy_buttons_latency_in_the_readers_words(page: Page, seconds: int, words: str) -> None:
    """The page's own sentence for a wearable's listen period, computed by its script in Chromium."""
    page.goto("about:blank")
    page.add_script_tag(path=str(ROOT / "hub" / "web" / "static" / "dashboard.js"))
    assert page.evaluate("(seconds) => listenText(seconds)", seconds) == words
