"""Bounded waiting for asynchronous outcomes: poll a condition until it holds or time runs out.

Tests wait for what they expect, never for a fixed time, and their bounds are generous: the
suite shares a small machine with other work, and a bound only costs time when something is
actually broken. Fixed sleeps are left only as windows in which something must *not* happen.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Final, TypeVar

T = TypeVar("T")

POLL_S: Final = 0.02
# One outcome that takes milliseconds on an idle machine: a touch through the air, a message
# through the broker, a receipt back.
WAIT_S: Final = 30.0
# Starting something: a process (imports alone take seconds on a busy machine), a broker
# session, a hub with all its parts.
START_S: Final = 60.0


def _give_up_after(started: float, within_s: float, what: str) -> None:
    if time.monotonic() - started > within_s:
        raise AssertionError(f"timed out after {within_s:.0f} s waiting for {what}")


async def eventually(
    check: Callable[[], T | None], *, within_s: float = WAIT_S, what: str = "condition"
) -> T:
    """Return check()'s first truthy value; fail with ``what`` if none comes within the time."""
    started = time.monotonic()
    while not (value := check()):
        _give_up_after(started, within_s, what)
        await asyncio.sleep(POLL_S)
    return value


async def eventually_async(
    check: Callable[[], Awaitable[T | None]], *, within_s: float = WAIT_S, what: str = "condition"
) -> T:
    """Like ``eventually`` for a check that must itself await (e.g. an HTTP call)."""
    started = time.monotonic()
    while not (value := await check()):
        _give_up_after(started, within_s, what)
        await asyncio.sleep(POLL_S)
    return value


def eventually_sync(check: Callable[[], T | None], *, within_s: float = WAIT_S, what: str = "condition") -> T:
    """Like ``eventually`` for a test without an event loop (it blocks the calling thread)."""
    started = time.monotonic()
    while not (value := check()):
        _give_up_after(started, within_s, what)
        time.sleep(POLL_S)
    return value
