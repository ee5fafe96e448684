"""Domain events and values that flow from ingest to relay, delivery and store."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Final


class Gesture(StrEnum):
    TAP = "tap"
    DOUBLE_TAP = "double_tap"
    LONG_PRESS = "long_press"


class SignalKind(StrEnum):
    THINKING_OF_YOU = "thinking_of_you"
    CELEBRATE = "celebrate"
    NEED_YOU = "need_you"
    FELT_IT = "felt_it"
    SHARED_MOMENT = "shared_moment"


class Fate(StrEnum):
    QUEUED = "queued"  # committed to the outbox, not yet confirmed by the broker
    SENT = "sent"  # the broker confirmed it (PUBACK)
    RECEIVED = "received"  # in this home's inbox, delivery under way
    DELIVERED = "delivered"  # the person was reached (channel says how)
    HELD = "held"  # waiting on purpose (reason says why)
    FAILED = "failed"  # could not be delivered (reason says why)


class Channel(StrEnum):
    BUTTON = "button"
    PHONE = "phone"


# The default meaning of gestures from the design brief; couples may remap them later.
DEFAULT_GESTURE_MEANINGS: Final = {
    Gesture.TAP: SignalKind.THINKING_OF_YOU,
    Gesture.DOUBLE_TAP: SignalKind.CELEBRATE,
    Gesture.LONG_PRESS: SignalKind.NEED_YOU,
}


@dataclass(frozen=True, slots=True)
class TouchEvent:
    """A gesture on a registered button, authenticated and de-duplicated."""

    button_id: int
    address: str
    owner: str
    gesture: Gesture
    battery: int | None
    rssi: int
    counter: int
    at: datetime


@dataclass(frozen=True, slots=True)
class SignalRecord:
    id: str
    direction: str  # "sent" | "received"
    kind: SignalKind
    sender: str
    seq: int
    created_at: datetime
    fate: Fate
    channel: Channel | None
    reason: str | None
    updated_at: datetime
