"""The one place a touch becomes a signal.

A gesture means what the couple's settings say (tap: thinking of you, …); a tap may then be
shaped into a reply ("felt it") or join a shared moment (hub.delivery.moments); a double tap, a
long press and a signal sent from the dashboard keep their meaning. The gesture goes in the
envelope body, so the partner's hub knows a tap when one crosses its own. The button's
advert counter, the signal and its sealed envelope in the outbox are committed in one
transaction: after a crash either all exist or none do, so a replayed advert cannot resend it.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Final

from hub.bus import TouchUpdate, UpdateBus
from hub.clock import Clock
from hub.delivery.moments import Moments
from hub.events import Direction, Fate, Gesture, SignalKind, SignalRecord, TouchEvent
from hub.relay.envelope import EnvelopeKind, new_message_id
from hub.relay.relay import Relay
from hub.signals.exchange import LINK_KEYS, SignalExchange
from hub.store.buttons import ButtonRegistry
from hub.store.database import Database
from hub.store.holds import SignalLinks
from hub.store.signals import SignalLog

_LOGGER = logging.getLogger(__name__)

Meanings = Callable[[], Mapping[Gesture, SignalKind]]
# Signals whose button is remembered for the "it arrived" glow (hub.app.arrived): the newest.
REMEMBERED_BUTTONS: Final = 256


class SignalComposer:
    def __init__(
        self,
        *,
        person: str,
        db: Database,
        relay: Relay,
        exchange: SignalExchange,
        moments: Moments,
        meanings: Meanings,
        clock: Clock,
        bus: UpdateBus,
        visiting: Callable[[TouchEvent], None],
    ) -> None:
        self._person = person
        self._visiting = visiting  # a partner's touch heard here: handed on in this transaction
        self._db = db
        self._relay = relay
        self._exchange = exchange
        self._moments = moments
        self._meanings = meanings
        self._clock = clock
        self._bus = bus
        self._registry = ButtonRegistry(db)
        self._signals = SignalLog(db)
        self._links = SignalLinks(db)
        self._from_button: OrderedDict[str, int] = OrderedDict()  # signal id -> its button

    def button_of(self, signal_id: str) -> int | None:
        """The button a sent signal came from (once: it is forgotten as it is told)."""
        return self._from_button.pop(signal_id, None)

    def touch(self, event: TouchEvent) -> SignalRecord | None:
        """A touch on a registered button: a signal to the partner if its owner lives here."""
        kind = self._meanings()[event.gesture]
        _LOGGER.info("touch %s from button %d -> %s", event.gesture.value, event.button_id, kind.value)
        self._bus.publish(TouchUpdate(button=event.button_id, gesture=event.gesture, owner=event.owner))
        with self._db.transaction():
            self._registry.record_seen(
                event.button_id, event.counter, event.at, battery=event.battery, rssi=event.rssi
            )
            if event.owner == self._person:
                record = self._compose(kind, event.gesture, event)
            else:  # the partner's wearable, visiting: their hub sends it, with their meanings
                record = None
                self._visiting(event)
        if record is not None:
            self._from_button[record.id] = event.button_id
            while len(self._from_button) > REMEMBERED_BUTTONS:
                self._from_button.popitem(last=False)
            self._exchange.announce(record.id)
        return record

    def compose_visiting(self, gesture: Gesture) -> SignalRecord:
        """A touch on this person's wearable that the partner's hub heard (a visit), as if this
        hub had heard it; in the caller's transaction (the relay's, with the inbox id)."""
        return self._compose(self._meanings()[gesture], gesture)

    def send(self, kind: SignalKind) -> SignalRecord:
        """A signal sent without a button (the dashboard's send): chosen, so never reshaped."""
        with self._db.transaction():
            record = self._compose(kind, None)
        self._exchange.announce(record.id)
        return record

    def _compose(
        self, kind: SignalKind, gesture: Gesture | None, touch: TouchEvent | None = None
    ) -> SignalRecord:
        """Signal row, links and outbox envelope, in the caller's transaction."""
        made_at = touch.made_at if touch is not None else None
        made_away = touch is not None and touch.made_away
        if made_away:
            # A touch made away, heard later, answers nothing that arrived meanwhile and joins no
            # moment (its gesture is not sent, so the partner's hub cannot pair it either).
            gesture = None
        now = self._clock.now()
        shape = self._moments.shape(gesture, kind, now)
        kind, links = shape.kind, shape.links
        record = SignalRecord(
            id=new_message_id(),
            direction=Direction.SENT,
            kind=kind,
            sender=self._person,
            seq=self._signals.next_seq(),
            created_at=now,
            fate=Fate.QUEUED,
            channel=None,
            reason=None,
            updated_at=now,
            made_at=made_at,
            made_away=made_away,
        )
        self._signals.add(record)
        for relation in LINK_KEYS:
            if relation in links:
                self._links.add(record.id, relation, links[relation])
        body: dict[str, object] = {"signal": kind.value, "person": record.sender}
        body.update((relation, ref) for relation, ref in links.items())
        if gesture is not None:
            body["gesture"] = gesture.value
        if made_at is not None:
            body["made_at"], body["made_away"] = made_at.isoformat(), made_away
        self._relay.enqueue(EnvelopeKind.SIGNAL, body, message_id=record.id, seq=record.seq)
        self._moments.composed(record, gesture)
        return record
