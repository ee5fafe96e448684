"""The partner relay: durable outbox -> MQTT -> partner's inbox, with receipts coming back.

Sender: a signal is committed (signal row + sealed envelope in the outbox, one transaction)
before anything is published; it leaves the outbox only when the broker confirmed it.
Receiver: a message is committed (inbox id + signal row, one transaction) before its PUBACK;
an id already in the inbox is acknowledged and ignored. Delivery then reports the fate back
to the sender in a receipt, through the same outbox.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final

from hub.broker.config import inbox_topic
from hub.bus import UpdateBus
from hub.clock import Clock
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

Shaper = Callable[[SignalKind], tuple[SignalKind, Mapping[str, str]]]


def _unshaped(kind: SignalKind) -> tuple[SignalKind, Mapping[str, str]]:
    return kind, {}


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
            message_id, topic, self._codec.seal(envelope), envelope.at, needs_receipt=kind == "signal"
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
            known = self._signals.get(envelope.id)
            settled = known is not None and known.direction == "received" and known.fate in _SETTLED
            return None, known if settled else None
        if envelope.kind == "receipt":
            self._apply_receipt(envelope)
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

    def _apply_receipt(self, envelope: Envelope) -> None:
        body = envelope.body
        try:
            ref = str(body["ref"])
            fate = Fate(body["fate"])
            channel = Channel(body["channel"]) if body.get("channel") else None
        except (KeyError, ValueError):
            self.rejected["bad_receipt"] += 1
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
