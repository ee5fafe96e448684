"""The BLE irq's context, as a board has it: another task, with its own rules.

On an ESP32 MicroPython runs the ``bluetooth`` irq handler on the NimBLE host's FreeRTOS task
(``MICROPY_PY_BLUETOOTH_USE_SYNC_EVENTS``: ``extmod/modbluetooth.c`` calls the handler from
the stack's callbacks, ``extmod/nimble/modbluetooth_nimble.c``), not in the asyncio loop. The
host shims deliver the irq on a thread of their own (:class:`IrqThread`) and mark it, so:

* asyncio is not thread-safe: a plain ``asyncio.Event.set()`` from there does not wake a loop
  sleeping in its poll (on a board the command waits until something else wakes the loop).
  :func:`guard_loop` makes the loop refuse it outright, as CPython's own debug mode does
  ("Non-thread-safe operation invoked on an event loop other than the current one");
  ``asyncio.ThreadSafeFlag`` (:mod:`firmware_sim.shims.threadsafe`) is the way to wake it.
* flash writes are refused there (:mod:`firmware_sim.shims.flash`): littlefs and the SPI flash
  driver belong to the main task, and a write takes milliseconds the radio cannot wait.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import queue
import threading
from collections.abc import Callable
from typing import Any, Final

_LOGGER = logging.getLogger(__name__)
_LOCAL = threading.local()
_GUARDED: Final = "_heartline_irq_guard"
# An irq handler that does not return within this long is hung (a deadlock in the firmware).
IRQ_TIMEOUT_S: Final = 30.0


class IrqContextError(RuntimeError):
    """Something the firmware may not do from the BLE irq."""


def in_irq() -> bool:
    """True on the thread running a BLE irq handler."""
    return bool(getattr(_LOCAL, "in_irq", False))


def guard_loop(loop: asyncio.AbstractEventLoop) -> None:
    """Make ``loop.call_soon`` (which Event, Future and Queue use to wake waiters) refuse to run
    from the irq thread. Idempotent; other threads are untouched."""
    if getattr(loop, _GUARDED, False):
        return
    plain = loop.call_soon

    def call_soon(callback: Callable[..., object], *args: Any, context: Any = None) -> asyncio.Handle:
        if in_irq():
            raise IrqContextError(
                "asyncio used from the BLE irq (the NimBLE task): it is not thread-safe and does "
                "not wake the loop; set an asyncio.ThreadSafeFlag instead"
            )
        return plain(callback, *args, context=context)

    setattr(loop, "call_soon", call_soon)  # noqa: B010 - an instance attribute over the method
    setattr(loop, _GUARDED, True)


class IrqThread:
    """One radio's irq task: runs handlers one at a time, in order, off the event loop.

    ``run`` blocks its caller until the handler returns (the stack waits for the handler before
    it answers a write), so the order of events and answers is the board's, and a virtual-time
    loop does not skip ahead while a handler runs."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._jobs: queue.SimpleQueue[tuple[Callable[[], Any], concurrent.futures.Future[Any]] | None]
        self._jobs = queue.SimpleQueue()
        self._thread: threading.Thread | None = None

    def run(self, job: Callable[[], Any]) -> Any:
        if self._thread is None:
            self._thread = threading.Thread(target=self._serve, name=self._name, daemon=True)
            self._thread.start()
        done: concurrent.futures.Future[Any] = concurrent.futures.Future()
        self._jobs.put((job, done))
        return done.result(timeout=IRQ_TIMEOUT_S)

    def close(self) -> None:
        thread, self._thread = self._thread, None
        if thread is not None:
            self._jobs.put(None)
            thread.join(timeout=IRQ_TIMEOUT_S)

    def _serve(self) -> None:
        _LOCAL.in_irq = True
        while (item := self._jobs.get()) is not None:
            job, done = item
            try:
                done.set_result(job())
            except BaseException as ex:
                done.set_exception(ex)
