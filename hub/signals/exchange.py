"""Signals and their receipts over the relay: the handler of the ``signal`` kind.

Received: the signal and its links (a "felt it" names what it answers, a shared moment the
partner's signal it met) are stored with the inbox id, then handed to delivery once the broker
has its PUBACK. A tap that crossed one of ours becomes a shared moment here, as it does at the
partner's hub (hub.delivery.moments): the stored kind is the meaning the button plays.
A duplicate of a settled signal is receipted again (its sender missed ours).
Sent: the broker's confirmation moves a signal from queued to sent; the partner's receipt moves
it on to its fate (delivered, held or failed), never backwards.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Final

from hub.bus import SignalUpdate, UpdateBus
from hub.clock import Clock
from hub.delivery.moments import Moments
from hub.events import Channel, Direction, Fate, Gesture, SignalKind, SignalRecord
from hub.relay.body import MADE_AT_BODY, BodyField, BodySchema, made_at_problem
from hub.relay.envelope import Envelope, EnvelopeKind
from hub.relay.kinds import AfterCommit, Receipt
from hub.relay.relay import Relay
from hub.store.database import Database
from hub.store.holds import Relation, SignalLinks
from hub.store.signals import MAX_IDS_PER_STATEMENT, SignalLog

# Body keys that link a signal to an earlier one (see hub.delivery.moments).
LINK_KEYS: Final[tuple[Relation, ...]] = ("felt", "moment")
MAX_LINK_LENGTH: Final = 64
MAX_SENDER_LENGTH: Final = 64
# What a signal's body may carry (hub.signals.compose writes it); checked before ``received``.
SIGNAL_BODY: Final[BodySchema] = {
    "signal": BodyField("choice", choices=frozenset(kind.value for kind in SignalKind)),
    "person": BodyField("text", required=False, max_length=MAX_SENDER_LENGTH, lenient=True),
    # The gesture that made it (absent: sent from the dashboard); only a tap joins a moment.
    "gesture": BodyField("choice", required=False, choices=frozenset(g.value for g in Gesture)),
    **{relation: BodyField("id", required=False) for relation in LINK_KEYS},
    **MADE_AT_BODY,
}
# Fates a receiver reports in a receipt; a signal still being delivered has none yet.
_SETTLED: Final = frozenset({Fate.DELIVERED, Fate.HELD, Fate.FAILED})
# Receipts can cross (a re-receipt of "held" after "delivered"): a fate never moves backwards.
_FATE_RANK: Final = {
    Fate.QUEUED: 0,
    Fate.SENT: 1,
    Fate.RECEIVED: 2,
    Fate.HELD: 3,
    Fate.DELIVERED: 4,
    Fate.FAILED: 4,
}


class SignalExchange:
    """Registered with the relay for ``signal`` and for every id no other kind marked."""

    def __init__(
        self,
        *,
        relay: Relay,
        db: Database,
        clock: Clock,
        bus: UpdateBus,
        deliver: Callable[[SignalRecord], None],
        moments: Moments | None = None,
    ) -> None:
        self._moments = moments
        self._relay = relay
        self._signals = SignalLog(db)
        self._links = SignalLinks(db)
        self._clock = clock
        self._bus = bus
        self._deliver = deliver
        relay.register(EnvelopeKind.SIGNAL, self, body=SIGNAL_BODY)

    def received(self, envelope: Envelope) -> AfterCommit | None:
        try:
            kind = SignalKind(envelope.body["signal"])
        except (KeyError, ValueError):
            self._relay.rejected["unknown_signal"] += 1
            return None
        made_at, made_away = self._made_at(envelope)
        record = SignalRecord(
            id=envelope.id,
            direction=Direction.RECEIVED,
            kind=kind,
            sender=str(envelope.body.get("person", "partner"))[:MAX_SENDER_LENGTH],
            seq=envelope.seq,
            created_at=envelope.at,
            fate=Fate.RECEIVED,
            channel=None,
            reason=None,
            updated_at=self._clock.now(),
            made_at=made_at,
            made_away=made_away,
        )
        links: dict[Relation, str] = {}
        for relation in LINK_KEYS:
            ref = envelope.body.get(relation)
            if isinstance(ref, str) and 0 < len(ref) <= MAX_LINK_LENGTH:
                links[relation] = ref
        if self._moments is not None:
            gesture = envelope.body.get("gesture")
            meaning = self._moments.arrived(record, Gesture(gesture) if gesture else None, links)
            record = dataclasses.replace(record, kind=meaning)
        known = record if self._signals.add(record) else None  # as stored, unless already there
        for relation, ref in links.items():
            self._links.add(record.id, relation, ref)

        paired = self._links.ref(record.id, "moment") if record.kind is SignalKind.SHARED_MOMENT else None

        def hand_over() -> None:
            if known is not None:
                self._bus.publish(SignalUpdate(known))
            else:
                self.announce(record.id)
            if paired is not None:
                self.announce(paired)  # our tap it crossed is a shared moment now too
            self._deliver(record)

        return hand_over

    def _made_at(self, envelope: Envelope) -> tuple[datetime | None, bool]:
        """made_at / made_away of a touch the sender's button kept; one out of range is
        counted and left out (the signal itself is kept: its meaning does not depend on it)."""
        text = envelope.body.get("made_at")
        if not isinstance(text, str):
            return None, False
        made_at = datetime.fromisoformat(text)
        problem = made_at_problem(made_at, envelope.at)
        if problem is not None:
            self._relay.rejected[problem] += 1
            return None, False
        return made_at, envelope.body.get("made_away") is True

    def duplicate(self, envelope: Envelope) -> None:
        known = self._signals.get(envelope.id)
        settled = known is not None and known.direction is Direction.RECEIVED and known.fate in _SETTLED
        if known is not None and settled and self._relay.receipt_due(known.id):
            self._relay.queue_receipt(known.id, known.fate, known.channel, known.reason)

    def receipts(self, receipts: Sequence[Receipt]) -> set[str]:
        """Move our signals' fates on (never backwards): one statement for one envelope's
        receipts, which share one answer (hub.relay.relay sends them so)."""
        ours: set[str] = set()
        for answer, group in _by_answer(receipts).items():
            fate, channel, reason = answer
            rank = _FATE_RANK[fate]
            for chunk in _chunks([receipt.ref for receipt in group]):
                updated = self._signals.set_fates(
                    chunk,
                    fate,
                    self._clock.now(),
                    channel=channel,
                    reason=reason,
                    only_from=[f for f, before in _FATE_RANK.items() if before <= rank],
                    direction=Direction.SENT,
                )
                for record in sorted(updated, key=lambda r: (r.created_at, r.seq)):
                    self._bus.publish(SignalUpdate(record))
                ours.update(record.id for record in updated)
                for ref in set(chunk) - ours:
                    known = self._signals.get(ref)
                    # Ours, and further on already: an older receipt arriving late (e.g. "held"
                    # after "delivered"); not ours: nothing this hub sent.
                    if known is not None and known.direction is Direction.SENT:
                        ours.add(ref)
        return ours

    def published(self, message_ids: Sequence[str]) -> AfterCommit | None:
        sent: list[SignalRecord] = []
        for chunk in _chunks(message_ids):
            # Receipts of ours, or resends of signals already on their way, do not change.
            sent += self._signals.set_fates(
                chunk, Fate.SENT, self._clock.now(), only_from=[Fate.QUEUED], direction=Direction.SENT
            )
        if not sent:
            return None
        sent.sort(key=lambda record: (record.created_at, record.seq))

        def announce() -> None:
            for record in sent:
                self._bus.publish(SignalUpdate(record))

        return announce

    def announce(self, signal_id: str) -> None:
        """Show a signal's current state on the live feed."""
        record = self._signals.get(signal_id)
        if record is not None:
            self._bus.publish(SignalUpdate(record))

    def undelivered(self) -> list[SignalRecord]:
        """Signals received but never delivered (the hub stopped in between): deliver again."""
        return [r for r in self._signals.recent(limit=1000) if r.fate is Fate.RECEIVED]


def _by_answer(receipts: Sequence[Receipt]) -> dict[tuple[Fate, Channel | None, str | None], list[Receipt]]:
    groups: dict[tuple[Fate, Channel | None, str | None], list[Receipt]] = {}
    for receipt in receipts:
        groups.setdefault((receipt.fate, receipt.channel, receipt.reason), []).append(receipt)
    return groups


def _chunks(ids: Sequence[str]) -> list[Sequence[str]]:
    return [ids[i : i + MAX_IDS_PER_STATEMENT] for i in range(0, len(ids), MAX_IDS_PER_STATEMENT)]
