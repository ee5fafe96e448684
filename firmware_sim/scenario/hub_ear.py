"""One hub's BLE side on the simulated air, without the rest of the hub.

The real hub parts only: a :class:`hub.ble.transport.SimTransport` scanner feeding
:class:`hub.ble.ingest.AdvertIngest` (decode, authenticate, de-duplicate) and a
:class:`hub.ble.feedback.FeedbackSender` for haptic commands, over a SQLite button registry.
Scenarios log what it heard; tests use it as "the hub" for a button round trip.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Final, Self

from hub.ble.feedback import FeedbackSender
from hub.ble.ingest import AdvertIngest
from hub.ble.transport import SimTransport
from hub.clock import Clock
from hub.events import SignalKind, TouchEvent
from hub.store.buttons import ButtonRecord, ButtonRegistry
from hub.store.database import Database, open_database

# The hub's own default is 5 s; a simulated button answers in milliseconds of loop time.
FEEDBACK_TIMEOUT_S: Final = 5.0
# next_event() and wait_for_events() by default: a touch arrives in milliseconds; the bound is
# for a machine busy with other work.
WAIT_S: Final = 30.0


class HubEar:
    """Listen for touch events on the air as ``radio``; send feedback to registered buttons."""

    def __init__(
        self,
        air: tuple[str, int],
        radio: str,
        data_dir: Path,
        clock: Clock,
        *,
        on_event: Callable[[TouchEvent], None] | None = None,
        feedback_timeout_s: float = FEEDBACK_TIMEOUT_S,
    ) -> None:
        host, port = air
        self.radio = radio.upper()
        self._data_dir = data_dir
        self._clock = clock
        self._on_event = on_event
        self._feedback_timeout_s = feedback_timeout_s
        self.transport = SimTransport(f"sim:{host}:{port}/{self.radio}", host, port, self.radio)
        self.events: list[TouchEvent] = []  # every touch event ingest produced, in order
        self._taken = 0  # how many of them next_event() has returned
        self._arrived = asyncio.Condition()
        self._db: Database | None = None
        self._registry: ButtonRegistry | None = None
        self._ingest: AdvertIngest | None = None
        self._sender: FeedbackSender | None = None
        self._pump: asyncio.Task[None] | None = None
        self._stop_scanner: Callable[[], object] | None = None

    @property
    def registry(self) -> ButtonRegistry:
        if self._registry is None:
            raise RuntimeError("the hub ear is not started")
        return self._registry

    @property
    def ingest(self) -> AdvertIngest:
        if self._ingest is None:
            raise RuntimeError("the hub ear is not started")
        return self._ingest

    def register(self, address: str, key: bytes, owner: str) -> ButtonRecord:
        record = self.registry.upsert(address, "heartline", key, owner)
        self.ingest.reload()
        return record

    async def start(self) -> None:
        self._db = open_database(self._data_dir)
        self._registry = ButtonRegistry(self._db)
        self._ingest = AdvertIngest(self._registry, self._clock)
        self._sender = FeedbackSender(self.transport, self._registry, self._feedback_timeout_s)
        await self.transport.open()
        scanner = self.transport.scanner(self._ingest.on_advert)
        await scanner.start()
        self._stop_scanner = scanner.stop
        self._pump = asyncio.create_task(self._run(self._ingest), name=f"ingest {self.radio}")

    async def stop(self) -> None:
        if self._pump is not None:
            self._pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pump
            self._pump = None
        if self._stop_scanner is not None:
            stopped = self._stop_scanner()
            if asyncio.iscoroutine(stopped):
                await stopped
            self._stop_scanner = None
        await self.transport.close()
        if self._db is not None:
            self._db.close()
            self._db = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def next_event(self, within_s: float = WAIT_S) -> TouchEvent:
        """The next touch event not yet returned by this method (waits for one if needed)."""
        index = self._taken
        async with asyncio.timeout(within_s), self._arrived:
            await self._arrived.wait_for(lambda: len(self.events) > index)
        self._taken = index + 1
        return self.events[index]

    async def wait_for_events(self, count: int, within_s: float = WAIT_S) -> list[TouchEvent]:
        async with asyncio.timeout(within_s), self._arrived:
            await self._arrived.wait_for(lambda: len(self.events) >= count)
        return list(self.events)

    async def send_feedback(self, address: str, kind: SignalKind) -> None:
        """Authenticated haptic command to a registered button; FeedbackError if it failed."""
        if self._sender is None:
            raise RuntimeError("the hub ear is not started")
        record = self.registry.by_address(address)
        if record is None:
            raise KeyError(address)
        await self._sender.send(record, kind)

    async def _run(self, ingest: AdvertIngest) -> None:
        async for event in ingest.events():
            self.events.append(event)
            if self._on_event is not None:
                self._on_event(event)
            async with self._arrived:
                self._arrived.notify_all()
