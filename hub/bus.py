"""A tiny in-process broadcast of hub updates, for the dashboard's live feed (SSE) and Home
Assistant. Updates are typed records; ``to_json()`` is what the live feed sends."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import ClassVar, Final

from hub.events import Gesture, PartnerPresence, SignalRecord
from hub.health import PartnerHubStatus

# A dashboard tab that stops reading loses old updates rather than growing the hub's memory.
SUBSCRIBER_QUEUE: Final = 256


@dataclass(frozen=True, slots=True)
class TouchUpdate:
    """A registered button was touched (whoever owns it)."""

    type: ClassVar[str] = "touch"
    button: int
    gesture: Gesture
    owner: str

    def to_json(self) -> dict[str, object]:
        return {"type": self.type, "button": self.button, "gesture": self.gesture.value, "owner": self.owner}


@dataclass(frozen=True, slots=True)
class SignalUpdate:
    """A signal was created or its fate changed."""

    type: ClassVar[str] = "signal"
    signal: SignalRecord

    def to_json(self) -> dict[str, object]:
        return {"type": self.type, "signal": self.signal.to_json()}


@dataclass(frozen=True, slots=True)
class PartnerPresenceUpdate:
    """The partner's hub reported where they are."""

    type: ClassVar[str] = "partner_presence"
    presence: PartnerPresence

    def to_json(self) -> dict[str, object]:
        return {"type": self.type, "presence": self.presence.to_json()}


@dataclass(frozen=True, slots=True)
class ButtonUpdate:
    """A registered button's care alert was raised or cleared (``alert`` None: all well)."""

    type: ClassVar[str] = "button"
    button: int
    owner: str
    alert: str | None  # "low_battery" or "not_heard" (hub.ble.care.AlertKind)
    alert_text: str | None

    def to_json(self) -> dict[str, object]:
        return {
            "type": self.type,
            "button": self.button,
            "owner": self.owner,
            "alert": self.alert,
            "alert_text": self.alert_text,
        }


@dataclass(frozen=True, slots=True)
class PartnerHubUpdate:
    """The partner's hub came online or went offline (or this hub lost sight of it)."""

    type: ClassVar[str] = "partner_hub"
    partner: PartnerHubStatus

    def to_json(self) -> dict[str, object]:
        return {"type": self.type, "partner": self.partner.to_json()}


Update = TouchUpdate | SignalUpdate | PartnerPresenceUpdate | ButtonUpdate | PartnerHubUpdate


class UpdateBus:
    def __init__(self) -> None:
        self._subscribers: set[asyncio.Queue[Update]] = set()

    def publish(self, update: Update) -> None:
        for queue in self._subscribers:
            with contextlib.suppress(asyncio.QueueFull):
                queue.put_nowait(update)

    @contextlib.asynccontextmanager
    async def subscribe(self) -> AsyncIterator[asyncio.Queue[Update]]:
        queue: asyncio.Queue[Update] = asyncio.Queue(SUBSCRIBER_QUEUE)
        self._subscribers.add(queue)
        try:
            yield queue
        finally:
            self._subscribers.discard(queue)
