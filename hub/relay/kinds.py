"""What rides the relay besides the envelope: receipts, and the handler each kind's domain registers.

The relay only transports: it seals, publishes, stores, de-duplicates, acknowledges and resends.
What a message *means* is decided by the handler of its kind, which lives with its domain:
signals and their receipts (hub.signals.exchange), a joined hub's hello (hub.couple.hello),
presence sharing (hub.presence.share), the people's wearables (hub.presence.wearables) and
touches heard on a visiting partner's wearable and commands sealed for it (hub.signals.visits).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
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

    def receipts(self, receipts: Sequence[Receipt]) -> set[str]:
        """The partner's receipts for messages of this kind that we sent (one envelope's, with
        one answer). The refs that answer something this hub sent (they leave the outbox); any
        other is counted as ``bad_receipt``."""
        ...

    def published(self, message_ids: Sequence[str]) -> AfterCommit | None:
        """The broker confirmed these messages of ours of this kind (one loop turn's)."""
        ...
