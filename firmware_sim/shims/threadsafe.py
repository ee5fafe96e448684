"""``asyncio.ThreadSafeFlag`` for CPython, as MicroPython's asyncio has it.

MicroPython's flag (``extmod/asyncio/event.py``) may be set from an irq or another thread and
wakes the one task waiting on it; ``wait()`` clears it. CPython has no such class, so
:func:`firmware_sim.shims.install` adds this one to ``asyncio`` under that name: the firmware
writes ``asyncio.ThreadSafeFlag()`` as on a board. Set from a thread other than the waiter's
loop it goes through ``call_soon_threadsafe``, which wakes the loop's selector.
"""

from __future__ import annotations

import asyncio
import threading


class ThreadSafeFlag:
    def __init__(self) -> None:
        self._flag = False
        self._waiter: asyncio.Future[None] | None = None
        self._thread = 0

    def set(self) -> None:
        self._flag = True
        waiter = self._waiter
        if waiter is None:
            return  # nobody waits yet: wait() sees the flag (it checks again after registering)
        if threading.get_ident() == self._thread:
            if not waiter.done():
                waiter.set_result(None)
        else:
            waiter.get_loop().call_soon_threadsafe(_release, waiter)

    def clear(self) -> None:
        self._flag = False

    def is_set(self) -> bool:
        return self._flag  # another thread may set it at any moment

    async def wait(self) -> None:
        if self._waiter is not None:
            raise RuntimeError("a ThreadSafeFlag has one waiter")
        while not self.is_set():
            waiter = asyncio.get_running_loop().create_future()
            self._thread = threading.get_ident()
            self._waiter = waiter
            try:
                if self.is_set():
                    break  # set between the check and registering: no wake-up will come
                await waiter
            finally:
                self._waiter = None
        self._flag = False


def _release(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)
