"""Bounded waiting for asynchronous outcomes: poll a condition until it holds or time runs out."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Final, TypeVar

T = TypeVar("T")

POLL_S: Final = 0.02


async def eventually(check: Callable[[], T | None], *, within_s: float = 10.0, what: str = "condition") -> T:
    """Return check()'s first truthy value; fail with ``what`` if none comes within the time."""
    deadline = time.monotonic() + within_s
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within_s:.0f} s waiting for {what}")
        await asyncio.sleep(POLL_S)


async def eventually_async(
    check: Callable[[], Awaitable[T | None]], *, within_s: float = 10.0, what: str = "condition"
) -> T:
    """Like ``eventually`` for a check that must itself await (e.g. an HTTP call)."""
    deadline = time.monotonic() + within_s
    while True:
        value = await check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within_s:.0f} s waiting for {what}")
        await asyncio.sleep(POLL_S)
