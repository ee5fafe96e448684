"""Named background tasks in one TaskGroup: each part of the hub starts its loops here."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import AsyncIterator, Coroutine, Iterator
from typing import Any, Protocol


class Tasks:
    """Named background tasks in one TaskGroup, cancelled together when the hub closes."""

    def __init__(self, group: asyncio.TaskGroup) -> None:
        self._group = group
        self._tasks: list[asyncio.Task[None]] = []

    def start(self, work: Coroutine[Any, Any, None], name: str) -> None:
        self._tasks.append(self._group.create_task(work, name=name))

    def cancel(self) -> None:
        for task in self._tasks:
            task.cancel()


class Part(Protocol):
    def start(self, tasks: Tasks) -> None: ...


@contextlib.asynccontextmanager
async def running(*parts: Part) -> AsyncIterator[Tasks]:
    """Run the parts' loops until the block ends (more can be started on what it yields); a loop
    that fails cancels the block, and its error comes out of the TaskGroup."""
    async with asyncio.TaskGroup() as group:
        tasks = Tasks(group)
        for part in parts:
            part.start(tasks)
        try:
            yield tasks
        finally:
            tasks.cancel()


@contextlib.contextmanager
def stop_on_signals() -> Iterator[asyncio.Event]:
    """An event set by Ctrl-C or SIGTERM, so a program stops in order instead of dying. Inside a
    running loop; the handlers are removed on the way out."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        yield stop
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
