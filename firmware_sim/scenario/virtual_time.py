"""An asyncio event loop whose clock is virtual: idle time is skipped, not waited for.

How virtual time advances. ``loop.time()`` returns a virtual clock that only moves when the
loop would otherwise block. In each loop iteration asyncio asks its selector to wait up to
``timeout`` (the time until the next scheduled callback). :class:`_SkippingSelector` first
polls the real sockets without waiting; if any are ready they are handled at the current
virtual instant. If none are, nothing can happen before the next timer, so the clock jumps
straight to it. Computation therefore takes zero virtual time and sleeping takes zero real
time: a firmware that sleeps until its next touch, and a hub that waits on its queue, let a
simulated week pass in seconds.

Everything in one world (air server, buttons on the shims, hub parts) must run on this loop,
in this process, over loopback TCP: a write on loopback is readable by the peer as soon as
``send()`` returns, so "nothing ready" really means "nothing in flight". Subprocesses (the
unix port) and threads run on real time and do not belong in a virtual-time world; if the
loop has no timer at all it waits for real I/O, at most ``IDLE_REAL_WAIT_S`` per iteration.
"""

from __future__ import annotations

import asyncio
import selectors
from collections.abc import Coroutine
from datetime import datetime, timedelta
from typing import Any, Final, TypeVar

T = TypeVar("T")

# With no timer scheduled the world is waiting on I/O only; poll it in small real slices.
IDLE_REAL_WAIT_S: Final = 0.05


class _SkippingSelector(selectors.DefaultSelector):
    def __init__(self) -> None:
        super().__init__()
        self.loop: VirtualTimeLoop | None = None

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        ready: list[tuple[selectors.SelectorKey, int]] = super().select(0)
        if ready or timeout == 0:
            return ready
        if timeout is None:
            return super().select(IDLE_REAL_WAIT_S)
        assert self.loop is not None
        self.loop.advance(timeout)
        return []


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    """A selector event loop on virtual time, starting at ``0.0``."""

    def __init__(self) -> None:
        selector = _SkippingSelector()
        super().__init__(selector)
        selector.loop = self
        self._virtual = 0.0
        self.jumps = 0

    def time(self) -> float:
        return self._virtual

    def advance(self, seconds: float) -> None:
        if seconds > 0:
            self._virtual += seconds
            self.jumps += 1


def run_virtual(main: Coroutine[Any, Any, T]) -> T:
    """asyncio.run() on a fresh :class:`VirtualTimeLoop`."""
    loop = VirtualTimeLoop()
    try:
        asyncio.set_event_loop(loop)
        return loop.run_until_complete(main)
    finally:
        try:
            _cancel_all(loop)
            loop.run_until_complete(loop.shutdown_asyncgens())
        finally:
            asyncio.set_event_loop(None)
            loop.close()


def _cancel_all(loop: asyncio.AbstractEventLoop) -> None:
    tasks = [t for t in asyncio.all_tasks(loop) if not t.done()]
    for task in tasks:
        task.cancel()
    if tasks:
        loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))


class VirtualClock:
    """``hub.clock.Clock`` on the running loop's (virtual) time, from a wall-clock start."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("VirtualClock needs a timezone-aware start time")
        self._start = start

    def monotonic(self) -> float:
        return asyncio.get_running_loop().time()

    def now(self) -> datetime:
        return self._start + timedelta(seconds=self.monotonic())
