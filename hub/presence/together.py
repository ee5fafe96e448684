"""Together time at one home, told to the other home's hub, so both hubs' stats count it.

Together time happens where both people are: at Alex's home when Sam visits. Alex's hub sees it
(both people's sessions at its home); Sam's hub, at the empty home, would not. So the hub where
both are present sends the span (the ``together`` kind: start, then start and end), and the
partner's hub keeps it as both people's sessions at that home (``hub`` is the sending hub's id),
which ``hub.stats`` counts as together time beside its own home's.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Final

from hub.events import Fate
from hub.presence.service import PresenceState
from hub.relay.body import BodyField, BodySchema
from hub.relay.envelope import Envelope, EnvelopeKind, new_message_id
from hub.relay.kinds import AfterCommit, Receipt
from hub.relay.relay import Relay
from hub.store.database import Database
from hub.store.presence import PresenceStore

_LOGGER = logging.getLogger(__name__)

TICK_S: Final = 5.0
TOGETHER_PREFIX: Final = "together-"
# Sessions kept for the partner's home are never this hub's run: nothing here re-dates them.
PARTNER_RUN: Final = "partner-hub"
TOGETHER_BODY: Final[BodySchema] = {
    "start": BodyField("time"),
    "end": BodyField("time", nullable=True),
}


def _prefix(start: datetime) -> str:
    return f"{TOGETHER_PREFIX}{int(start.timestamp())}-"


class TogetherExchange:
    """Both ends: queue a span both were here; keep the partner's home's spans as sessions."""

    def __init__(self, *, relay: Relay, db: Database, people: tuple[str, str], partner_hub: str) -> None:
        self._relay = relay
        self._db = db
        self._store = PresenceStore(db)
        self._people = people
        self._partner_hub = partner_hub
        relay.register(EnvelopeKind.TOGETHER, self, body=TOGETHER_BODY, id_prefix=TOGETHER_PREFIX)

    def send(self, start: datetime, end: datetime | None) -> None:
        body = {"start": start.isoformat(), "end": end.isoformat() if end else None}
        with self._db.transaction():
            self._relay.drop_queued(_prefix(start))  # the open span's message, replaced by its end
            self._relay.enqueue(EnvelopeKind.TOGETHER, body, message_id=_prefix(start) + new_message_id())

    def received(self, envelope: Envelope) -> AfterCommit | None:
        start = datetime.fromisoformat(envelope.body["start"])
        end_text = envelope.body["end"]
        end = datetime.fromisoformat(end_text) if end_text else None
        if end is not None and end < start:
            self._relay.rejected["bad_together"] += 1
            self._relay.queue_receipt(
                envelope.id, Fate.FAILED, None, "a together span ending before it began"
            )
            return None
        for person in self._people:
            known = next(
                (
                    s
                    for s in self._store.sessions(person=person, hub=self._partner_hub, since=start)
                    if s.arrived_at == start
                ),
                None,
            )
            session_id = (
                known.id
                if known is not None
                else self._store.open_session(person, self._partner_hub, start, PARTNER_RUN, 0.0)
            )
            if end is not None:
                self._store.close(session_id, end, 1.0, "left", None)
        self._relay.queue_receipt(envelope.id, Fate.DELIVERED, None, None)
        return None

    def duplicate(self, envelope: Envelope) -> None:
        if self._relay.receipt_due(envelope.id):
            self._relay.queue_receipt(envelope.id, Fate.DELIVERED, None, None)

    def receipts(self, receipts: Sequence[Receipt]) -> set[str]:
        return {receipt.ref for receipt in receipts}

    def published(self, message_ids: Sequence[str]) -> AfterCommit | None:  # noqa: ARG002 - the handler shape
        return None


class TogetherSharer:
    """Watches this home: both people present is a span, sent when it begins and when it ends."""

    def __init__(
        self,
        exchange: TogetherExchange,
        people: tuple[str, str],
        states: Callable[[], Iterable[PresenceState]],
    ) -> None:
        self._exchange = exchange
        self._people = people
        self._states = states
        self._open: datetime | None = None
        self.sent = 0

    def tick(self) -> bool:
        by_person = {s.person: s for s in self._states()}
        here = [by_person.get(p) for p in self._people]
        both = all(s is not None and s.present and s.since is not None for s in here)
        if both and self._open is None:
            self._open = max(s.since for s in here if s is not None and s.since is not None)
            self._exchange.send(self._open, None)
        elif not both and self._open is not None:
            left = [s.since for s in here if s is not None and not s.present and s.since is not None]
            end = max(self._open, min(left)) if left else self._open
            self._exchange.send(self._open, end)
            _LOGGER.info("together here from %s to %s; told the partner's hub", self._open, end)
            self._open = None
        else:
            return False
        self.sent += 1
        return True

    async def run(self) -> None:
        while True:
            self.tick()
            await asyncio.sleep(TICK_S)
