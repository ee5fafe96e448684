"""The partner relay: durable outbox -> MQTT -> partner's inbox, with receipts coming back.

Sender: a signal is committed (signal row + sealed envelope in the outbox, one transaction)
before anything is published; it leaves the outbox only when the broker confirmed it.
Receiver: a message is committed (inbox id + signal row, one transaction) before its PUBACK;
an id already in the inbox is acknowledged and ignored. Delivery then reports the fate back
to the sender in a receipt, through the same outbox.

Two more kinds ride the same path. ``hello``: a newly joined hub's first message, carrying the
nonce of the invite code it joined with; the inviting hub redeems the nonce in its ledger once and
answers with a receipt (delivered = accepted, failed = refused and why). ``presence``: this home's
person at home or away, latest wins: a newer one replaces any older one still in the outbox, and
the receiver keeps only the newest it has seen (``partner_presence``, kept in the ``meta`` table).
Both are receipted and resent like signals (a just-restarted mosquitto can drop a message queued
for a session that has not reconnected yet: seen in the presence tests).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sqlite3
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from hub.broker.config import inbox_topic
from hub.bus import UpdateBus
from hub.clock import Clock
from hub.couple.invite import InviteError
from hub.couple.ledger import InviteLedger
from hub.errors import EnvelopeError, RelayError
from hub.events import Channel, Fate, SignalKind, SignalRecord
from hub.relay.envelope import Envelope, EnvelopeCodec, new_message_id
from hub.relay.mqtt_link import Inbound, MqttLink
from hub.store.database import Database
from hub.store.holds import Relation, SignalLinks
from hub.store.relay_queue import RESEND_FIRST_S, InboxLedger, Outbox, OutboxItem
from hub.store.signals import SignalLog
from hub.systemd import Heartbeats

_LOGGER = logging.getLogger(__name__)

# How often the publisher looks at the outbox even when nothing woke it (covers failures).
OUTBOX_SWEEP_S: Final = 5.0
# A publish the broker has not confirmed in this long is given up *locally*: the item stays in
# the outbox and the next sweep publishes it again (the receiver de-duplicates by id). Covers a
# PUBACK lost with a connection paho believes is still alive.
PUBLISH_TIMEOUT_S: Final = 30.0
# A message that could not be stored (disk full, database locked) is kept unacknowledged in
# memory and its commit retried this often; the broker redelivers it if the hub dies meanwhile.
STORE_RETRY_S: Final = 2.0
# A duplicate of a signal is re-receipted only if its last receipt is older than this (the
# sender's first resend comes a minute after the broker confirmed, see relay_queue).
RERECEIPT_AFTER_S: Final = 30.0
# Bound on that memory; forgetting only costs one extra receipt per signal.
MAX_RECEIPT_MEMORY: Final = 10_000
# Outbox items published and not yet confirmed; matches paho's own in-flight window.
MAX_IN_FLIGHT: Final = 100
# Messages stored in one transaction (one fsync) when many arrive at once (a drained outage).
MAX_RECEIVE_BATCH: Final = 200
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
# Body keys that link a signal to an earlier one (see hub.delivery.moments).
_LINK_KEYS: Final[tuple[Relation, ...]] = ("felt", "moment")
MAX_LINK_LENGTH: Final = 64

# Outbox ids of the latest-wins and one-off kinds start with these (the ids travel only inside
# the sealed envelope; the prefix lets the outbox find them without a schema change).
HELLO_PREFIX: Final = "hello-"
PRESENCE_PREFIX: Final = "presence-"
# Where the partner's last reported presence is kept across restarts.
PARTNER_PRESENCE_KEY: Final = "partner_presence"
MAX_PERSON_LENGTH: Final = 64
# Why the inviting hub refuses a hello, counted in ``rejected`` and explained in one log line.
_HELLO_REFUSALS: Final = {
    "used": (
        "invite_reused",
        (
            "the invite code was already used (a second device joining with the same code?); "
            "make a new one with `heartline couple invite`"
        ),
    ),
    "unknown": ("invite_unknown", "this hub never issued that invite code"),
    "expired": ("invite_expired", "the invite code expired before the partner's hub first said hello"),
}

Shaper = Callable[[SignalKind], tuple[SignalKind, Mapping[str, str]]]


def _unshaped(kind: SignalKind) -> tuple[SignalKind, Mapping[str, str]]:
    return kind, {}


HelloAnswered = Callable[[bool, str | None], None]


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


@dataclass(frozen=True, slots=True)
class RelayIdentity:
    person: str
    hub_id: str
    partner_hub_id: str
    couple_id: str


class Relay:
    def __init__(
        self,
        *,
        identity: RelayIdentity,
        db: Database,
        link: MqttLink,
        codec: EnvelopeCodec,
        clock: Clock,
        bus: UpdateBus,
        deliver: Callable[[SignalRecord], None],
        shape: Shaper = _unshaped,
        resend_first_s: float = RESEND_FIRST_S,
        heartbeats: Heartbeats | None = None,
        invites: InviteLedger | None = None,
    ) -> None:
        self.identity = identity
        self._heartbeats = heartbeats or Heartbeats()
        self._db = db
        self._signals = SignalLog(db)
        self._outbox = Outbox(db, resend_first_s=resend_first_s)
        self._inbox = InboxLedger(db)
        self._link = link
        self._codec = codec
        self._clock = clock
        self._bus = bus
        self._deliver = deliver
        self._shape = shape
        self._links = SignalLinks(db)
        self._unstored: list[Inbound] = []
        self._confirmations: list[OutboxItem] = []
        self._receipted: dict[str, float] = {}  # signal id -> monotonic time of its last receipt
        self._confirm_wake = asyncio.Event()
        self._wake = asyncio.Event()
        self._in_flight: set[str] = set()
        self.rejected: Counter[str] = Counter()
        self._invites = invites
        self._hello_answered: HelloAnswered | None = None
        # This hub's own hello: None until answered, then (accepted, reason).
        self.hello_result: tuple[bool, str | None] | None = None
        self.partner_presence: PartnerPresence | None = self._load_partner_presence()

    @property
    def outbox_depth(self) -> int:
        return len(self._outbox)

    # -- sending -------------------------------------------------------------------------

    def send_signal(self, kind: SignalKind) -> SignalRecord:
        """Commit a new signal to the log and the outbox; it is published as soon as possible."""
        kind, links = self._shape(kind)
        now = self._clock.now()
        with self._db.transaction():
            record = SignalRecord(
                id=new_message_id(),
                direction="sent",
                kind=kind,
                sender=self.identity.person,
                seq=self._signals.next_seq(),
                created_at=now,
                fate=Fate.QUEUED,
                channel=None,
                reason=None,
                updated_at=now,
            )
            self._signals.add(record)
            for relation in _LINK_KEYS:
                if relation in links:
                    self._links.add(record.id, relation, links[relation])
            body = {"signal": kind.value, "person": record.sender, **links}
            self._enqueue(record.id, "signal", record.seq, body)
        self._announce(record.id)
        self._wake.set()
        return record

    def send_receipt(self, ref: str, fate: Fate, channel: Channel | None, reason: str | None) -> None:
        with self._db.transaction():
            self.queue_receipt(ref, fate, channel, reason)

    def queue_receipt(self, ref: str, fate: Fate, channel: Channel | None, reason: str | None) -> None:
        """Like send_receipt, inside the caller's transaction (delivery records fate + receipt at once)."""
        self._receipted[ref] = self._clock.monotonic()
        body = {
            "ref": ref,
            "fate": fate.value,
            "channel": channel.value if channel else None,
            "reason": reason,
        }
        self._enqueue(new_message_id(), "receipt", self._signals.next_seq(), body)
        self._wake.set()

    def _receipt_due(self, ref: str) -> bool:
        """A re-receipt only if none went out recently: a sender that was away resends each
        signal several times, and one receipt answers them all."""
        last = self._receipted.get(ref)
        if len(self._receipted) > MAX_RECEIPT_MEMORY:
            self._receipted.clear()
        return last is None or self._clock.monotonic() - last >= RERECEIPT_AFTER_S

    # -- hello (invite codes work once) ---------------------------------------------------

    def send_hello(self, nonce: str, *, answered: HelloAnswered | None = None) -> bool:
        """Queue this hub's hello (once: False if one is already waiting for its answer).
        ``answered(accepted, reason)`` is called when the inviting hub's answer arrives."""
        self._hello_answered = answered
        if self._outbox_ids(HELLO_PREFIX):
            return False
        with self._db.transaction():
            self._enqueue(
                HELLO_PREFIX + new_message_id(), "hello", self._signals.next_seq(), {"nonce": nonce}
            )
        self._wake.set()
        return True

    def _answer_hello(self, envelope: Envelope) -> None:
        """Redeem a first-time hello's nonce (inside the caller's transaction) and answer it."""
        nonce = envelope.body.get("nonce")
        reason: str | None = None
        if self._invites is None or not isinstance(nonce, str) or not 0 < len(nonce) <= MAX_LINK_LENGTH:
            reason = "unknown"
        else:
            try:
                self._invites.redeem(nonce, self._clock.now(), by=envelope.id)
            except InviteError as ex:
                reason = ex.reason
        if reason is None:
            _LOGGER.info("the partner's hub said hello; its invite code is now used up")
            self.queue_receipt(envelope.id, Fate.DELIVERED, None, None)
            return
        counter, why = _HELLO_REFUSALS.get(reason, _HELLO_REFUSALS["unknown"])
        self.rejected[counter] += 1
        _LOGGER.warning("refused a hello from hub %s: %s", envelope.sender, why)
        self.queue_receipt(envelope.id, Fate.FAILED, None, counter)

    def _reanswer_hello(self, envelope: Envelope) -> None:
        """A resent hello (our answer was lost): answer the same again, at most now and then."""
        if not self._receipt_due(envelope.id):
            return
        accepted = self._invites is not None and self._invites.redeemed_by(envelope.id)
        if accepted:
            self.queue_receipt(envelope.id, Fate.DELIVERED, None, None)
        else:
            self.queue_receipt(envelope.id, Fate.FAILED, None, "refused")

    def _hello_answer_arrived(self, ref: str, fate: Fate, reason: str | None) -> None:
        if ref not in self._outbox_ids(HELLO_PREFIX):
            return  # a repeated answer to a hello already settled
        self._outbox.receipt_arrived(ref)
        accepted = fate is Fate.DELIVERED
        self.hello_result = (accepted, reason)
        if accepted:
            _LOGGER.info("the partner's hub accepted our hello: the couple is joined")
        else:
            _LOGGER.error(
                "the partner's hub refused our hello (%s): ask them for a new invite code",
                reason or "refused",
            )
        if self._hello_answered is not None:
            self._hello_answered(accepted, reason)

    # -- presence (latest wins) ----------------------------------------------------------

    def send_presence(self, person: str, *, present: bool, since: datetime | None) -> None:
        """Queue this home's person's presence, replacing any older one not yet published."""
        body = {"person": person, "present": present, "since": since.isoformat() if since else None}
        with self._db.transaction():
            self._drop_queued_presence()
            self._enqueue(PRESENCE_PREFIX + new_message_id(), "presence", self._signals.next_seq(), body)
        self._wake.set()

    def drop_queued_presence(self) -> int:
        """Forget presence messages not yet receipted by the partner's hub (sharing paused)."""
        with self._db.transaction():
            return self._drop_queued_presence()

    def _drop_queued_presence(self) -> int:
        cursor = self._db.connection.execute("DELETE FROM outbox WHERE id LIKE ?", (PRESENCE_PREFIX + "%",))
        return cursor.rowcount

    def _outbox_ids(self, prefix: str) -> list[str]:
        rows = self._db.connection.execute("SELECT id FROM outbox WHERE id LIKE ?", (prefix + "%",))
        return [str(row[0]) for row in rows]

    def _apply_presence(self, envelope: Envelope) -> None:
        parsed = _parse_presence(envelope.body)
        if parsed is None:
            self.rejected["bad_presence"] += 1
            return
        person, present, since = parsed
        current = self.partner_presence
        if current is not None and envelope.seq <= current.seq and envelope.at <= current.reported_at:
            # An older report arriving late. Newer by either measure wins: seq survives their
            # clock stepping back, their clock survives a reinstalled hub starting seq again.
            return
        state = PartnerPresence(person, present, since, envelope.at, envelope.seq)
        self._db.connection.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (PARTNER_PRESENCE_KEY, json.dumps(state.to_json())),
        )
        self.partner_presence = state
        self._bus.publish({"type": "partner_presence", "presence": state.to_json()})

    def _load_partner_presence(self) -> PartnerPresence | None:
        row = self._db.connection.execute(
            "SELECT value FROM meta WHERE key = ?", (PARTNER_PRESENCE_KEY,)
        ).fetchone()
        if row is None:
            return None
        try:
            data = json.loads(row[0])
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

    # -- outbox --------------------------------------------------------------------------

    def _enqueue(self, message_id: str, kind: str, seq: int, body: Mapping[str, object]) -> None:
        envelope = Envelope(
            id=message_id,
            kind=kind,
            sender=self.identity.hub_id,
            to=self.identity.partner_hub_id,
            at=self._clock.now(),
            seq=seq,
            body=body,
        )
        topic = inbox_topic(self.identity.couple_id, self.identity.partner_hub_id)
        self._outbox.put(
            message_id,
            topic,
            self._codec.seal(envelope),
            envelope.at,
            needs_receipt=kind != "receipt",
        )

    def poke(self) -> None:
        """Look at the outbox now (e.g. after the clock moved)."""
        self._wake.set()

    # -- running -------------------------------------------------------------------------

    async def run(self) -> None:
        async with asyncio.TaskGroup() as group:
            group.create_task(self._publisher(group), name="relay-publisher")
            group.create_task(self._confirmer(), name="relay-confirmer")
            group.create_task(self._receiver(), name="relay-receiver")

    async def _publisher(self, group: asyncio.TaskGroup) -> None:
        while True:
            self._heartbeats.beat("relay-publisher", OUTBOX_SWEEP_S * 3)
            if not self._link.connected.is_set():
                # Waiting out a broker outage is not a wedge: keep beating while it lasts.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(OUTBOX_SWEEP_S):
                        await self._link.connected.wait()
                continue
            room = MAX_IN_FLIGHT - len(self._in_flight)
            if room > 0:
                for item in self._outbox.due(self._clock.now(), limit=room, exclude=self._in_flight):
                    self._in_flight.add(item.id)
                    group.create_task(self._publish(item), name=f"relay-publish-{item.id}")
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(OUTBOX_SWEEP_S):
                    await self._wake.wait()

    async def _publish(self, item: OutboxItem) -> None:
        try:
            async with asyncio.timeout(PUBLISH_TIMEOUT_S):
                await self._link.publish(item.topic, item.payload)
        except (RelayError, TimeoutError) as ex:
            _LOGGER.warning("publishing %s failed (%r); it stays in the outbox", item.id, ex)
            self._in_flight.discard(item.id)
            return
        # Recorded by the confirmer: every PUBACK of one loop turn in one transaction (one fsync).
        self._confirmations.append(item)
        self._confirm_wake.set()

    async def _confirmer(self) -> None:
        while True:
            await self._confirm_wake.wait()
            self._confirm_wake.clear()
            batch, self._confirmations = self._confirmations, []
            now = self._clock.now()
            try:
                with self._db.transaction():
                    for item in batch:
                        self._outbox.confirmed(item, now)
                        record = self._signals.get(item.id)
                        if record is not None and record.fate is Fate.QUEUED:
                            self._signals.set_fate(item.id, Fate.SENT, now)
            except sqlite3.Error:
                # Still unconfirmed in the outbox: published again later, de-duplicated there.
                _LOGGER.exception("cannot record %d broker confirmations", len(batch))
                self._in_flight.difference_update(item.id for item in batch)
                continue
            self._in_flight.difference_update(item.id for item in batch)
            self._wake.set()
            for item in batch:
                self._announce(item.id)

    async def _receiver(self) -> None:
        queue = self._link.messages
        while True:
            self._heartbeats.beat("relay-receiver", STORE_RETRY_S * 3)
            first: Inbound | None = None
            # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation that
            # races a message arriving, and the hub would then never stop.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(STORE_RETRY_S):
                    first = await queue.get()
            batch, self._unstored = self._unstored, []
            if first is not None:
                batch.append(first)
            while not queue.empty() and len(batch) < MAX_RECEIVE_BATCH:
                batch.append(queue.get_nowait())
            if batch:
                self._receive(batch)

    @property
    def unstored(self) -> int:
        """Messages received but not yet stored (so not acknowledged): non-zero means trouble."""
        return len(self._unstored)

    def _receive(self, messages: list[Inbound]) -> None:
        """Open, store (one transaction for the batch), then acknowledge, deliver, re-receipt."""
        opened: list[tuple[Inbound, Envelope]] = []
        for message in messages:
            try:
                opened.append((message, self._codec.open(message.payload)))
            except EnvelopeError as ex:
                # Acknowledge it anyway: a forged message must not be redelivered forever.
                self.rejected[ex.reason] += 1
                _LOGGER.warning("%s on %s; acknowledged and dropped", ex, message.topic)
                self._link.ack(message)
        if not opened:
            return
        try:
            with self._db.transaction():
                results = [self._commit(envelope) for _, envelope in opened]
        except sqlite3.Error as ex:
            # Not acknowledged: retried here, and the broker redelivers them if this hub dies.
            _LOGGER.error("cannot store %d relay messages (%s); not acknowledged, retrying", len(opened), ex)
            self.rejected["store_failed"] += len(opened)
            self._unstored.extend(message for message, _ in opened)
            return
        for (message, _), (record, resend) in zip(opened, results, strict=True):
            self._link.ack(message)
            if record is not None:
                self._announce(record.id)
                self._deliver(record)
            if resend is not None and self._receipt_due(resend.id):
                # The sender never got our receipt (it resent the signal): tell it again.
                self.send_receipt(resend.id, resend.fate, resend.channel, resend.reason)

    def _commit(self, envelope: Envelope) -> tuple[SignalRecord | None, SignalRecord | None]:
        """Store a message (in the caller's transaction). Returns (new signal to deliver, known
        signal to re-receipt)."""
        now = self._clock.now()
        if not self._inbox.first_time(envelope.id, now):
            self.rejected["duplicate"] += 1
            if envelope.kind == "hello":
                self._reanswer_hello(envelope)
                return None, None
            if envelope.kind == "presence":
                if self._receipt_due(envelope.id):
                    self.queue_receipt(envelope.id, Fate.DELIVERED, None, None)
                return None, None
            known = self._signals.get(envelope.id)
            settled = known is not None and known.direction == "received" and known.fate in _SETTLED
            return None, known if settled else None
        if envelope.kind != "signal":
            self._apply_control(envelope)
            return None, None
        try:
            kind = SignalKind(envelope.body["signal"])
        except (KeyError, ValueError):
            self.rejected["unknown_signal"] += 1
            return None, None
        record = SignalRecord(
            id=envelope.id,
            direction="received",
            kind=kind,
            sender=str(envelope.body.get("person", "partner"))[:64],
            seq=envelope.seq,
            created_at=envelope.at,
            fate=Fate.RECEIVED,
            channel=None,
            reason=None,
            updated_at=now,
        )
        self._signals.add(record)
        for relation in _LINK_KEYS:
            ref = envelope.body.get(relation)
            if isinstance(ref, str) and 0 < len(ref) <= MAX_LINK_LENGTH:
                self._links.add(record.id, relation, ref)
        return record, None

    def _apply_control(self, envelope: Envelope) -> None:
        if envelope.kind == "receipt":
            self._apply_receipt(envelope)
        elif envelope.kind == "hello":
            self._answer_hello(envelope)
        elif envelope.kind == "presence":
            self._apply_presence(envelope)
            self.queue_receipt(envelope.id, Fate.DELIVERED, None, None)

    def _apply_receipt(self, envelope: Envelope) -> None:
        body = envelope.body
        try:
            ref = str(body["ref"])
            fate = Fate(body["fate"])
            channel = Channel(body["channel"]) if body.get("channel") else None
        except (KeyError, ValueError):
            self.rejected["bad_receipt"] += 1
            return
        if ref.startswith(PRESENCE_PREFIX):
            self._outbox.receipt_arrived(ref)
            return
        if ref.startswith(HELLO_PREFIX):
            reason_text = body.get("reason")
            self._hello_answer_arrived(ref, fate, str(reason_text) if reason_text else None)
            return
        known = self._signals.get(ref)
        if known is None or known.direction != "sent":
            self.rejected["bad_receipt"] += 1
            return
        self._outbox.receipt_arrived(ref)
        if _FATE_RANK[fate] < _FATE_RANK[known.fate]:
            return  # an older receipt arriving late (e.g. "held" after "delivered")
        reason = body.get("reason")
        self._signals.set_fate(
            ref,
            fate,
            self._clock.now(),
            channel=channel,
            reason=str(reason) if reason else None,
        )
        self._announce(ref)

    def _announce(self, signal_id: str) -> None:
        record = self._signals.get(signal_id)
        if record is not None:
            self._bus.publish({"type": "signal", "signal": signal_json(record)})

    def recover(self) -> list[SignalRecord]:
        """Signals received but never delivered (the hub stopped in between): deliver again."""
        return [r for r in self._signals.recent(limit=1000) if r.fate is Fate.RECEIVED]


def _parse_presence(body: Mapping[str, object]) -> tuple[str, bool, datetime | None] | None:
    """(person, present, since) from a presence body, or None if it is not a valid one."""
    person, present, since_text = body.get("person"), body.get("present"), body.get("since")
    if not isinstance(person, str) or not 0 < len(person) <= MAX_PERSON_LENGTH:
        return None
    if not isinstance(present, bool):
        return None
    if since_text is None:
        return person, present, None
    if not isinstance(since_text, str) or len(since_text) > MAX_LINK_LENGTH:
        return None
    try:
        since = datetime.fromisoformat(since_text)
    except ValueError:
        return None
    return (person, present, since) if since.tzinfo is not None else None


def signal_json(record: SignalRecord) -> dict[str, object]:
    return {
        "id": record.id,
        "direction": record.direction,
        "kind": record.kind.value,
        "sender": record.sender,
        "seq": record.seq,
        "created_at": record.created_at.isoformat(),
        "fate": record.fate.value,
        "channel": record.channel.value if record.channel else None,
        "reason": record.reason,
        "updated_at": record.updated_at.isoformat(),
    }
