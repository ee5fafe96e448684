"""Debian's ``chromium``, headless, through Playwright's ``executable_path``: nothing is downloaded.

One launcher for the page tests and the dashboard benchmark. A missing browser is one line that
says how to get it (``make test`` installs it)."""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import AsyncIterator, Iterator
from typing import Final

from playwright.async_api import Browser as AsyncBrowser
from playwright.async_api import async_playwright
from playwright.sync_api import Browser, sync_playwright

CHROMIUM_FLAGS: Final = [
    "--no-sandbox",  # CI runs as root
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",  # the machine has no internet: no update or sync calls
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
MISSING: Final = "chromium not found; `make test` installs Debian's chromium"


class ChromiumMissingError(RuntimeError):
    """No ``chromium`` (or ``chromium-browser``) on PATH."""


def chromium_path() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        raise ChromiumMissingError(MISSING)
    return path


@contextlib.asynccontextmanager
async def headless_chromium() -> AsyncIterator[AsyncBrowser]:
    path = chromium_path()
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=path, args=CHROMIUM_FLAGS)
        try:
            yield browser
        finally:
            await browser.close()


@contextlib.contextmanager
def headless_chromium_sync() -> Iterator[Browser]:
    path = chromium_path()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=path, args=CHROMIUM_FLAGS)
        try:
            yield browser
        finally:
            browser.close()
