"""One hub's BLE side on the simulated air, without the rest of the hub.

The hub's own BLE part (``hub.app.ble_side``: one scan supervisor feeding ingest and pairing,
the feedback sender, a SQLite button registry) over a :class:`hub.ble.transport.SimTransport`,
built exactly as ``heartline hub`` builds it. Scenarios log what it heard; tests use it as "the
hub" for a button round trip and for pairing.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import Final

# The scenario is a program above the hub (tests/test_architecture.py): it runs the hub's own
# BLE side over the simulated air, so these imports go from the simulator up into the hub.
from hub.app.ble_side import AdvertListener, BleOptions, BleSide, open_ble_side
from hub.ble.transport import SimTransport
from hub.clock import Clock
from hub.events import SignalKind, TouchEvent
from hub.heartbeats import Heartbeats
from hub.store.buttons import ButtonRecord
from hub.store.database import open_database
from hub.tasks import running

# The hub's own default is 10 s; a simulated button answers in milliseconds of loop time.
FEEDBACK_TIMEOUT_S: Final = 5.0
EAR_OPTIONS: Final = BleOptions(feedback_timeout_s=FEEDBACK_TIMEOUT_S)
# next_event() and wait_for_events() by default: a touch arrives in milliseconds; the bound is
# for a machine busy with other work.
WAIT_S: Final = 30.0


class HubEar:
    """A running BLE side and every touch event its ingest produced, in order."""

    def __init__(self, side: BleSide, on_event: Callable[[TouchEvent], None] | None) -> None:
        self.side = side
        self._on_event = on_event
        self.events: list[TouchEvent] = []
        self._taken = 0  # how many of them next_event() has returned
        self._arrived = asyncio.Condition()

    def register(self, address: str, key: bytes, owner: str) -> ButtonRecord:
        return self.side.add_button(address, "heartline", key, owner)

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
        record = self.side.registry.by_address(address)
        if record is None:
            raise KeyError(address)
        await self.side.feedback.send(record, kind)

    async def collect(self) -> None:
        async for event in self.side.ingest.events():
            self.events.append(event)
            if self._on_event is not None:
                self._on_event(event)
            async with self._arrived:
                self._arrived.notify_all()


@contextlib.asynccontextmanager
async def open_hub_ear(
    air: tuple[str, int],
    radio: str,
    data_dir: Path,
    clock: Clock,
    *,
    on_event: Callable[[TouchEvent], None] | None = None,
    options: BleOptions = EAR_OPTIONS,
    listeners: Sequence[AdvertListener] = (),
) -> AsyncIterator[HubEar]:
    """Listen for touch events on the air as ``radio``; send feedback to registered buttons."""
    host, port = air
    radio = radio.upper()
    transport = SimTransport(f"sim:{host}:{port}/{radio}", host, port, radio)
    with contextlib.closing(open_database(data_dir)) as db:
        async with (
            open_ble_side(transport, db, clock, Heartbeats(), options=options, listeners=listeners) as side,
            running(side) as tasks,
        ):
            ear = HubEar(side, on_event)
            tasks.start(ear.collect(), f"ingest {radio}")
            yield ear
