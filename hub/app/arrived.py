"""The "it arrived" glow: when the partner's receipt says a touch from this person's button was
delivered, that button glows softly (``hub.ble.feedback.ARRIVED_LOOK``: no motor), if the
``arrived_glow`` setting is on.

The button is the one the touch came from: the composer remembers it for each signal it
composed from a touch (in memory, so after a restart a receipt for an older signal glows
nothing). A glow that cannot be shown (out of range, a wearable asleep past its window, a button
whose firmware has no such pattern) is logged and not retried: it is a courtesy, not a signal.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from hub.ble.feedback import FeedbackSender
from hub.bus import SignalUpdate, UpdateBus
from hub.errors import FeedbackError
from hub.events import Direction, Fate
from hub.signals.compose import SignalComposer
from hub.store.buttons import ButtonRegistry

_LOGGER = logging.getLogger(__name__)


class ArrivedGlow:
    def __init__(
        self,
        *,
        bus: UpdateBus,
        composer: SignalComposer,
        registry: ButtonRegistry,
        feedback: FeedbackSender,
        enabled: Callable[[], bool],
    ) -> None:
        self._bus = bus
        self._composer = composer
        self._registry = registry
        self._feedback = feedback
        self._enabled = enabled
        self._glowing: set[asyncio.Task[None]] = set()
        self.shown = 0

    async def run(self) -> None:
        """Watch the fates of sent signals (a task)."""
        async with self._bus.subscribe() as updates:
            while True:
                update = await updates.get()
                if isinstance(update, SignalUpdate):
                    self._on_signal(update)

    def _on_signal(self, update: SignalUpdate) -> None:
        record = update.signal
        if record.direction is not Direction.SENT or record.fate is not Fate.DELIVERED:
            return
        button_id = self._composer.button_of(record.id)  # once per signal: a later copy finds none
        if button_id is None or not self._enabled():
            return
        task = asyncio.create_task(self._glow(button_id), name=f"arrived-glow {record.id}")
        self._glowing.add(task)
        task.add_done_callback(self._glowing.discard)

    async def _glow(self, button_id: int) -> None:
        button = self._registry.by_id(button_id)
        if button is None:
            return
        try:
            await self._feedback.glow_arrived(button)
        except FeedbackError as ex:
            _LOGGER.info("the arrived glow on button %d was not shown: %s", button_id, ex)
            return
        self.shown += 1
