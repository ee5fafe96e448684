"""What rides the relay besides the envelope: receipts, and the handler each kind's domain registers.

The relay only transports: it seals, publishes, stores, de-duplicates, acknowledges and resends.
What a message *means* is decided by the handler of its kind, which lives with its domain:
signals and their receipts (hub.signals.exchange), a joined hub's hello (hub.couple.hello),
presence sharing (hub.presence.share), the people's wearables (hub.presence.wearables) and
touches heard on a visiting partner's wearable and commands sealed for it (hub.signals.visits).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from hub.events import Channel, Fate
from hub.relay.envelope import Envelope


@dataclass(frozen=True, slots=True)
class Receipt:
    ref: str  # the id of the message it answers
    fate: Fate
    channel: Channel | None
    reason: str | None


# Work a handler leaves for after the batch is committed and acknowledged (announce, deliver).
AfterCommit = Callable[[], None]


class KindHandler(Protocol):
    """One kind's meaning. Every method runs inside the relay's transaction: what it stores lands
    together with the inbox id or outbox change that caused it, or not at all."""

    def received(self, envelope: Envelope) -> AfterCommit | None:
        """A message of this kind seen for the first time."""
        ...

    def duplicate(self, envelope: Envelope) -> None:
        """A message already handled arrived again: its sender never got our receipt."""
        ...

    def receipt(self, receipt: Receipt) -> bool:
        """The partner's receipt for a message of this kind that we sent. False if it answers
        nothing this hub sent (counted as ``bad_receipt``); True leaves it out of the outbox."""
        ...

    def published(self, message_id: str) -> AfterCommit | None:
        """The broker confirmed one of our messages of this kind."""
        ...
