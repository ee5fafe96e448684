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


class Direction(StrEnum):
    SENT = "sent"  # this home's person sent it
    RECEIVED = "received"  # the partner sent it here


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
    # When it was made, if the hub heard it later (the button kept it, device/keep.py): the
    # hub's clock at hearing minus the age the button reported. None: made when heard.
    made_at: datetime | None = None
    made_away: bool = False  # it waited on the button because no hub heard it when made


@dataclass(frozen=True, slots=True)
class SignalRecord:
    id: str
    direction: Direction
    kind: SignalKind
    sender: str
    seq: int
    created_at: datetime
    fate: Fate
    channel: Channel | None
    reason: str | None
    updated_at: datetime
    made_at: datetime | None = None  # a touch the sender's button kept: when it was made
    made_away: bool = False  # made where no hub heard it (out of range), sent when back

    def to_json(self) -> dict[str, object]:
        """The shape the API, the live feed and Home Assistant show."""
        return {
            "id": self.id,
            "direction": self.direction.value,
            "kind": self.kind.value,
            "sender": self.sender,
            "seq": self.seq,
            "created_at": self.created_at.isoformat(),
            "fate": self.fate.value,
            "channel": self.channel.value if self.channel else None,
            "reason": self.reason,
            "updated_at": self.updated_at.isoformat(),
            "made_at": self.made_at.isoformat() if self.made_at else None,
            "made_away": self.made_away,
        }


@dataclass(frozen=True, slots=True)
class PartnerPresence:
    """The partner's last reported presence at their own hub."""

    person: str
    present: bool
    since: datetime | None  # when they arrived (present) or left (away), their hub's clock
    reported_at: datetime  # when their hub sent it (their clock)
    seq: int  # their hub's durable sequence number

    def to_json(self) -> dict[str, object]:
        return {
            "person": self.person,
            "present": self.present,
            "since": self.since.isoformat() if self.since else None,
            "reported_at": self.reported_at.isoformat(),
            "seq": self.seq,
        }
