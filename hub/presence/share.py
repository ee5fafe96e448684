"""Sharing this home's person's presence with the partner's hub (so its delivery routing knows
where they are), through the relay like every payload: sealed, on change, throttled.

Sending (:class:`PresenceSharer`, one of the hub's tasks): it polls the presence service's
current states (cheap: a dict) each second and sends when this home's person's state changed,
at most once per ``MIN_INTERVAL_S`` (a flapping state sends its latest value when the interval is
over), and again every ``REFRESH_S`` unchanged (it is receipted and resent like a signal; the
refresh mends a partner hub whose stored state was lost). Latest wins: a newer report replaces
any older one still in the outbox. Paused (``share = False``): nothing is sent and anything not
yet published is dropped.

Receiving (:class:`PresenceExchange`, the relay's ``presence`` handler): the partner's newest
report is kept (in the ``meta`` table, across restarts); an older one arriving late is ignored.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Final

from hub.bus import PartnerPresenceUpdate, UpdateBus
from hub.clock import Clock
from hub.events import Fate, PartnerPresence
from hub.presence.service import PresenceState
from hub.relay.body import BodyField, BodySchema
from hub.relay.envelope import Envelope, EnvelopeKind, new_message_id
from hub.relay.kinds import AfterCommit, Receipt
from hub.relay.relay import Relay
from hub.store.database import Database
from hub.store.meta import MetaStore

_LOGGER = logging.getLogger(__name__)

TICK_S: Final = 1.0
# A partner arriving and leaving within seconds is one change for the other home, not five.
MIN_INTERVAL_S: Final = 30.0
# The partner's hub restarts, a broker loses an unsaved message: a quiet refresh mends both.
REFRESH_S: Final = 900.0
# Presence ids are marked, so a newer report can replace an older one still in the outbox.
PRESENCE_PREFIX: Final = "presence-"
# Where the partner's last reported presence is kept across restarts.
PARTNER_PRESENCE_KEY: Final = "partner_presence"
MAX_PERSON_LENGTH: Final = 64
MAX_SINCE_LENGTH: Final = 64
# A presence report's body, checked before ``received`` (anything else: bad_presence).
PRESENCE_BODY: Final[BodySchema] = {
    "person": BodyField("text", max_length=MAX_PERSON_LENGTH),
    "present": BodyField("bool"),
    "since": BodyField("time", nullable=True),
}


class PresenceExchange:
    """Both ends of presence sharing over the relay: queue ours, keep the partner's newest."""

    def __init__(self, *, relay: Relay, db: Database, bus: UpdateBus) -> None:
        self._relay = relay
        self._db = db
        self._meta = MetaStore(db)
        self._bus = bus
        self.partner: PartnerPresence | None = self._load()
        relay.register(EnvelopeKind.PRESENCE, self, body=PRESENCE_BODY, id_prefix=PRESENCE_PREFIX)

    def send(self, person: str, *, present: bool, since: datetime | None) -> None:
        """Queue this home's person's presence, replacing any older one not yet published."""
        body = {"person": person, "present": present, "since": since.isoformat() if since else None}
        with self._db.transaction():
            self._relay.drop_queued(PRESENCE_PREFIX)
            self._relay.enqueue(EnvelopeKind.PRESENCE, body, message_id=PRESENCE_PREFIX + new_message_id())

    def drop_queued(self) -> int:
        """Forget presence messages not yet receipted by the partner's hub (sharing paused)."""
        with self._db.transaction():
            return self._relay.drop_queued(PRESENCE_PREFIX)

    # -- the relay's handler ------------------------------------------------------------

    def received(self, envelope: Envelope) -> AfterCommit | None:
        self._apply(envelope)
        self._relay.queue_receipt(envelope.id, Fate.DELIVERED, None, None)
        return None

    def duplicate(self, envelope: Envelope) -> None:
        if self._relay.receipt_due(envelope.id):
            self._relay.queue_receipt(envelope.id, Fate.DELIVERED, None, None)

    def receipts(self, receipts: Sequence[Receipt]) -> set[str]:
        return {receipt.ref for receipt in receipts}  # the partner's hub has it: it leaves the outbox

    def published(self, message_ids: Sequence[str]) -> AfterCommit | None:  # noqa: ARG002 - the handler shape
        return None

    def _apply(self, envelope: Envelope) -> None:
        parsed = _parse(envelope.body)
        if parsed is None:
            self._relay.rejected["bad_presence"] += 1
            return
        person, present, since = parsed
        current = self.partner
        if current is not None and envelope.seq <= current.seq and envelope.at <= current.reported_at:
            # An older report arriving late. Newer by either measure wins: seq survives their
            # clock stepping back, their clock survives a reinstalled hub starting seq again.
            return
        state = PartnerPresence(person, present, since, envelope.at, envelope.seq)
        self._meta.put(PARTNER_PRESENCE_KEY, json.dumps(state.to_json()))
        self.partner = state
        self._bus.publish(PartnerPresenceUpdate(state))

    def _load(self) -> PartnerPresence | None:
        text = self._meta.get(PARTNER_PRESENCE_KEY)
        if text is None:
            return None
        try:
            data = json.loads(text)
            since = data.get("since")
            return PartnerPresence(
                person=str(data["person"]),
                present=bool(data["present"]),
                since=datetime.fromisoformat(since) if since else None,
                reported_at=datetime.fromisoformat(str(data["reported_at"])),
                seq=int(data["seq"]),
            )
        except (ValueError, KeyError, TypeError):
            _LOGGER.warning("ignoring an unreadable stored partner presence")
            return None


def _parse(body: Mapping[str, object]) -> tuple[str, bool, datetime | None] | None:
    """(person, present, since) from a presence body, or None if it is not a valid one."""
    person, present, since_text = body.get("person"), body.get("present"), body.get("since")
    if not isinstance(person, str) or not 0 < len(person) <= MAX_PERSON_LENGTH:
        return None
    if not isinstance(present, bool):
        return None
    if since_text is None:
        return person, present, None
    if not isinstance(since_text, str) or len(since_text) > MAX_SINCE_LENGTH:
        return None
    try:
        since = datetime.fromisoformat(since_text)
    except ValueError:
        return None
    return (person, present, since) if since.tzinfo is not None else None


class PresenceSharer:
    def __init__(
        self,
        exchange: PresenceExchange,
        person: str,
        states: Callable[[], Iterable[PresenceState]],
        clock: Clock,
        *,
        share: bool = True,
        min_interval_s: float = MIN_INTERVAL_S,
        refresh_s: float = REFRESH_S,
    ) -> None:
        self._exchange = exchange
        self._person = person
        self._states = states
        self._clock = clock
        self._share = share
        self._min_interval_s = min_interval_s
        self._refresh_s = refresh_s
        self._last: tuple[bool, datetime | None] | None = None
        self._last_at: float | None = None
        self.sent = 0

    @property
    def sharing(self) -> bool:
        return self._share

    def pause(self) -> None:
        self._share = False
        self._exchange.drop_queued()

    def resume(self) -> None:
        self._share = True
        self._last = None  # tell the partner's hub the current state at the next tick

    def tick(self) -> bool:
        """Send if due; True if a presence message was queued."""
        if not self._share:
            return False
        state = next((s for s in self._states() if s.person == self._person), None)
        if state is None or (not state.present and state.since is None):
            return False  # not heard yet: "away" would tell the partner something nobody knows
        key = (state.present, state.since)
        now = self._clock.monotonic()
        since_last = None if self._last_at is None else now - self._last_at
        if key == self._last and since_last is not None and since_last < self._refresh_s:
            return False
        if since_last is not None and since_last < self._min_interval_s:
            return False
        self._exchange.send(self._person, present=state.present, since=state.since)
        self._last, self._last_at = key, now
        self.sent += 1
        return True

    async def run(self) -> None:
        while True:
            self.tick()
            await asyncio.sleep(TICK_S)
