"""Touches made on a visiting partner's wearable: the host's hub hears them, the wearer's sends them.

At Alex's home, Sam's wearable is known (the hubs share their people's wearables,
``hub.presence.wearables``), so Alex's hub decodes and authenticates its touches like Alex's own.
But the touch is Sam's: it means what Sam's settings say, it belongs in Sam's log, and it goes to
Alex like any other. So the host's hub hands the gesture on over the relay (the ``touch`` kind,
enqueued in the same transaction as the wearable's advert counter); Sam's hub composes the signal
as if it had heard the touch itself and relays it to Alex's hub, whose delivery buzzes Alex's
button, in the same room.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Final

from hub.events import Fate, Gesture, SignalRecord, TouchEvent
from hub.relay.body import BodyField, BodySchema
from hub.relay.envelope import Envelope, EnvelopeKind, new_message_id
from hub.relay.kinds import AfterCommit, Receipt
from hub.relay.relay import Relay

_LOGGER = logging.getLogger(__name__)

TOUCH_PREFIX: Final = "touch-"
MAX_PERSON_LENGTH: Final = 64
# A handed-on touch's body, checked before ``received`` (anything else: bad_touch).
TOUCH_BODY: Final[BodySchema] = {
    "gesture": BodyField("choice", choices=frozenset(g.value for g in Gesture)),
    "person": BodyField("text", max_length=MAX_PERSON_LENGTH),
    "heard_at": BodyField("time"),
    "address": BodyField("text", max_length=17),
    "counter": BodyField("count"),  # the wearable's advert counter: its own hub knows a repeat
}


class VisitTouches:
    """Both ends: hand on a partner's touch heard here; send our person's touch heard there."""

    def __init__(self, *, relay: Relay, person: str) -> None:
        self._relay = relay
        self._person = person
        self._compose: Callable[[Gesture], SignalRecord] | None = None
        self._announce: Callable[[str], None] = lambda _id: None
        self._new: Callable[[str, int], bool] = lambda _address, _counter: True
        self.handed_on = 0
        self.composed = 0
        relay.register(EnvelopeKind.TOUCH, self, body=TOUCH_BODY, id_prefix=TOUCH_PREFIX)

    def attach(self, compose: Callable[[Gesture], SignalRecord], announce: Callable[[str], None]) -> None:
        """``compose``: a signal from a gesture, in the caller's transaction."""
        self._compose, self._announce = compose, announce

    def check_counters(self, new: Callable[[str, int], bool]) -> None:
        """``new(address, counter)``: False for a touch this hub already heard or was handed
        (a button repeats its last advert for a while, and carries it from home to home)."""
        self._new = new

    def hand_on(self, event: TouchEvent) -> None:
        """A touch on the partner's wearable, heard here; call in the touch's transaction."""
        body = {
            "gesture": event.gesture.value,
            "person": event.owner,
            "heard_at": event.at.isoformat(),
            "address": event.address.upper(),
            "counter": event.counter,
        }
        self._relay.enqueue(EnvelopeKind.TOUCH, body, message_id=TOUCH_PREFIX + new_message_id())
        self.handed_on += 1
        _LOGGER.info("%s's touch (%s) heard here; handed on to their hub", event.owner, event.gesture.value)

    # -- the relay's handler ------------------------------------------------------------

    def received(self, envelope: Envelope) -> AfterCommit | None:
        person = envelope.body["person"]
        compose, announce = self._compose, self._announce
        if person != self._person or compose is None:  # never ours to send: said, not dropped
            self._relay.rejected["bad_touch"] += 1
            self._relay.queue_receipt(envelope.id, Fate.FAILED, None, f"{person} does not live at this hub")
            return None
        if not self._new(str(envelope.body["address"]), int(envelope.body["counter"])):
            self._relay.rejected["touch_already_sent"] += 1  # the same touch, heard twice: one signal
            self._relay.queue_receipt(envelope.id, Fate.FAILED, None, "this touch was already sent")
            return None
        record = compose(Gesture(envelope.body["gesture"]))
        self._relay.queue_receipt(envelope.id, Fate.DELIVERED, None, None)
        self.composed += 1
        return lambda: announce(record.id)

    def duplicate(self, envelope: Envelope) -> None:
        if self._relay.receipt_due(envelope.id):
            self._relay.queue_receipt(envelope.id, Fate.DELIVERED, None, None)

    def receipt(self, receipt: Receipt) -> bool:
        if receipt.fate is Fate.FAILED:
            _LOGGER.warning("the partner's hub refused a touch handed on to it: %s", receipt.reason)
        return True

    def published(self, message_id: str) -> AfterCommit | None:  # noqa: ARG002 - the handler shape
        return None
