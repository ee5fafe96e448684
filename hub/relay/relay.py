"""The partner relay, transport only: durable outbox -> MQTT -> partner's inbox, and back.

Sender: a message is committed (by its domain, in the outbox, one transaction with whatever
caused it) before anything is published; it leaves the outbox when the broker confirmed it and,
for every kind but receipts, when the partner's receipt arrived (until then it is resent).
Receiver: a batch is committed (inbox ids + what each message's handler stored, one
transaction) before its PUBACKs; an id already in the inbox is acknowledged and handed to its
handler as a duplicate. A poison message (forged, malformed, out of range, a body its kind's
schema refuses, or one its handler cannot store) is acknowledged, counted by reason and logged
without flooding (hub.relay.poison), never redelivered forever and never fatal to the hub.

What a message means is its kind's handler's business (hub.relay.kinds): the relay routes each
kind to the handler registered for it, and each receipt to the handler that owns the id it
answers (by id prefix: one-off and latest-wins kinds mark their ids; signals own the rest).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sqlite3
from collections import Counter
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Final

from hub.broker.config import inbox_topic
from hub.clock import Clock
from hub.errors import EnvelopeError, RelayError
from hub.events import Channel, Fate
from hub.heartbeats import Heartbeats
from hub.relay.body import RECEIPT_BODY, BodySchema, checked_body
from hub.relay.envelope import Envelope, EnvelopeCodec, EnvelopeKind, new_message_id
from hub.relay.kinds import AfterCommit, KindHandler, Receipt
from hub.relay.mqtt_link import Inbound, MqttLink
from hub.relay.poison import PoisonLog
from hub.store.database import Database
from hub.store.relay_queue import RESEND_FIRST_S, InboxLedger, Outbox, OutboxItem, bookkeeping
from hub.store.signals import SignalLog
from hub.tasks import Tasks

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
# A duplicate is re-receipted only if its last receipt is older than this (the sender's first
# resend comes a minute after the broker confirmed, see hub.store.relay_queue).
RERECEIPT_AFTER_S: Final = 30.0
# Bound on that memory; forgetting only costs one extra receipt per message.
MAX_RECEIPT_MEMORY: Final = 10_000
# Outbox items published and not yet confirmed; matches paho's own in-flight window.
MAX_IN_FLIGHT: Final = 100
# Messages stored in one transaction (one fsync) when many arrive at once (a drained outage).
MAX_RECEIVE_BATCH: Final = 200
# Receipts queued in one transaction with the same answer (fate, channel, reason) leave as one
# envelope answering up to this many messages (``also``, hub.relay.body), within this many
# characters of ids: a drained outage is answered by a few dozen receipts, not thousands.
RECEIPT_BATCH: Final = 50
RECEIPT_BATCH_CHARS: Final = 1800
# Kinds sent and received without the outbox and the inbox: losing one costs nothing (a status,
# asked for again at the partner's next connect: hub.relay.partner_status).
UNSTORED_KINDS: Final = frozenset({EnvelopeKind.STATUS})


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
        heartbeats: Heartbeats,
        resend_first_s: float = RESEND_FIRST_S,
    ) -> None:
        self.identity = identity
        self._heartbeats = heartbeats
        self._db = db
        self._sequence = SignalLog(db)  # one durable sequence numbers every message this hub sends
        self._outbox = Outbox(db, resend_first_s=resend_first_s)
        self._inbox = InboxLedger(db)
        self._link = link
        self._codec = codec
        self._clock = clock
        self._handlers: dict[EnvelopeKind, KindHandler] = {}
        self._schemas: dict[EnvelopeKind, BodySchema] = {EnvelopeKind.RECEIPT: RECEIPT_BODY}
        self._owners: list[tuple[str, KindHandler]] = []  # (id prefix, its handler), longest first
        self._unstored: list[Inbound] = []
        self._confirmations: list[OutboxItem] = []
        self._receipted: dict[str, float] = {}  # message id -> monotonic time of its last receipt
        # Receipts gathered in the open transaction, sealed just before it commits (by answer).
        self._receipt_groups: dict[tuple[Fate, Channel | None, str | None, str], list[str]] = {}
        self._receipt_serial: int | None = None
        self._answering_duplicate = False
        self._confirm_wake = asyncio.Event()
        self._wake = asyncio.Event()
        self._in_flight: set[str] = set()
        self._acks = _OrderedAcks(link)
        self._unstored_sends: set[asyncio.Task[None]] = set()
        # The link's arrival number of the UNSTORED_KINDS message being handled (its handler
        # orders it against what the link heard meanwhile: hub.relay.partner_status).
        self.arrival = 0
        self.rejected: Counter[str] = Counter()
        self.poison = PoisonLog(self.rejected, clock.monotonic)

    def register(
        self, kind: EnvelopeKind, handler: KindHandler, *, body: BodySchema, id_prefix: str = ""
    ) -> None:
        """Route ``kind`` to ``handler``, its bodies checked by ``body`` first; receipts for ids
        starting with ``id_prefix`` go there too (one kind owns the empty prefix: every id no
        other kind marked)."""
        if kind is EnvelopeKind.RECEIPT:
            raise ValueError("receipts are the relay's own: register the kind they answer")
        if kind in self._handlers or any(prefix == id_prefix for prefix, _ in self._owners):
            raise ValueError(f"{kind} or the id prefix {id_prefix!r} already has a handler")
        self._handlers[kind] = handler
        self._schemas[kind] = body
        self._owners.append((id_prefix, handler))
        self._owners.sort(key=lambda owner: len(owner[0]), reverse=True)

    @property
    def outbox_depth(self) -> int:
        return len(self._outbox)

    @property
    def unstored(self) -> int:
        """Messages received but not yet stored (so not acknowledged): non-zero means trouble."""
        return len(self._unstored)

    # -- sending (each inside the caller's transaction) -----------------------------------

    def enqueue(
        self,
        kind: EnvelopeKind,
        body: Mapping[str, object],
        *,
        message_id: str | None = None,
        seq: int | None = None,
    ) -> str:
        """Seal a message for the partner into the outbox; published as soon as possible."""
        envelope = Envelope(
            id=message_id or new_message_id(),
            kind=kind,
            sender=self.identity.hub_id,
            to=self.identity.partner_hub_id,
            at=self._clock.now(),
            seq=self._sequence.next_seq() if seq is None else seq,
            body=body,
        )
        self._outbox.put(
            envelope.id,
            inbox_topic(self.identity.couple_id, self.identity.partner_hub_id),
            self._codec.seal(envelope),
            envelope.at,
            needs_receipt=kind is not EnvelopeKind.RECEIPT,
        )
        self._wake.set()
        return envelope.id

    def send_unstored(self, kind: EnvelopeKind, body: Mapping[str, object], *, message_id: str) -> None:
        """Seal and publish now, keeping nothing (an UNSTORED_KINDS message, while connected)."""
        envelope = Envelope(
            id=message_id,
            kind=kind,
            sender=self.identity.hub_id,
            to=self.identity.partner_hub_id,
            at=self._clock.now(),
            seq=0,  # not one of the durable sequence: these are ordered by time alone
            body=body,
        )
        topic = inbox_topic(self.identity.couple_id, self.identity.partner_hub_id)
        task = asyncio.get_running_loop().create_task(
            self._publish_unstored(topic, self._codec.seal(envelope))
        )
        self._unstored_sends.add(task)
        task.add_done_callback(self._unstored_sends.discard)

    async def _publish_unstored(self, topic: str, payload: bytes) -> None:
        if self._link.closing:
            return  # saying goodbye: a status "online" must not land after our "offline"
        try:
            async with asyncio.timeout(PUBLISH_TIMEOUT_S):
                await self._link.publish(topic, payload)
        except (RelayError, TimeoutError) as ex:
            _LOGGER.debug("an unstored message was not confirmed (%r); the partner asks again", ex)

    def queue_receipt(self, ref: str, fate: Fate, channel: Channel | None, reason: str | None) -> None:
        """Tell the partner what became of its message ``ref``.

        Inside a transaction, receipts with the same answer are gathered and sealed together
        when it commits; a duplicate's receipt goes alone (a sender that ignores ``also`` must
        still hear about each message it resends)."""
        self._receipted[ref] = self._clock.monotonic()
        serial = self._db.transaction_serial
        if serial is None or self._answering_duplicate:
            self._enqueue_receipt(fate, channel, reason, [ref])
            return
        if serial != self._receipt_serial:
            groups: dict[tuple[Fate, Channel | None, str | None, str], list[str]] = {}
            self._receipt_groups, self._receipt_serial = groups, serial
            self._db.before_commit(lambda: self._seal_receipts(groups))
        owner = next((prefix for prefix, _ in self._owners if ref.startswith(prefix)), "")
        self._receipt_groups.setdefault((fate, channel, reason, owner), []).append(ref)

    def _seal_receipts(self, groups: dict[tuple[Fate, Channel | None, str | None, str], list[str]]) -> None:
        for (fate, channel, reason, _), refs in groups.items():
            batch: list[str] = []
            chars = 0
            for ref in refs:
                if batch and (len(batch) == RECEIPT_BATCH or chars + len(ref) > RECEIPT_BATCH_CHARS):
                    self._enqueue_receipt(fate, channel, reason, batch)
                    batch, chars = [], 0
                batch.append(ref)
                chars += len(ref)
            if batch:
                self._enqueue_receipt(fate, channel, reason, batch)
        groups.clear()

    def _enqueue_receipt(
        self, fate: Fate, channel: Channel | None, reason: str | None, refs: list[str]
    ) -> None:
        body: dict[str, object] = {
            "ref": refs[0],
            "fate": fate.value,
            "channel": channel.value if channel else None,
            "reason": reason,
        }
        if len(refs) > 1:
            body["also"] = refs[1:]
        self.enqueue(EnvelopeKind.RECEIPT, body)

    def receipt_due(self, ref: str) -> bool:
        """A re-receipt only if none went out recently: a sender that was away resends each
        message several times, and one receipt answers them all."""
        last = self._receipted.get(ref)
        if len(self._receipted) > MAX_RECEIPT_MEMORY:
            self._receipted.clear()
        return last is None or self._clock.monotonic() - last >= RERECEIPT_AFTER_S

    def queued(self, id_prefix: str) -> list[str]:
        """Ids in the outbox (not yet receipted) that start with ``id_prefix``."""
        return self._outbox.ids(id_prefix)

    def drop_queued(self, id_prefix: str) -> int:
        """Forget outbox messages starting with ``id_prefix`` (a latest-wins kind replaced them)."""
        return self._outbox.drop(id_prefix)

    def poke(self) -> None:
        """Look at the outbox now (e.g. after the clock moved)."""
        self._wake.set()

    # -- running -------------------------------------------------------------------------

    def start(self, tasks: Tasks) -> None:
        tasks.start(self._publisher(), "relay-publisher")
        tasks.start(self._confirmer(), "relay-confirmer")
        tasks.start(self._receiver(), "relay-receiver")

    async def _publisher(self) -> None:
        async with asyncio.TaskGroup() as publishes:  # one short task per message in flight
            await self._publish_due(publishes)

    async def _publish_due(self, group: asyncio.TaskGroup) -> None:
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
            afters: list[AfterCommit] = []
            try:
                # Bookkeeping, not durability: lost at a power cut, the items are published
                # again and the receiver recognises them (no fsync on every hop's path).
                with bookkeeping(self._db):
                    self._outbox.confirmed_all(batch, now)
                    for owner, ids in self._by_owner([item.id for item in batch]).items():
                        after = owner.published(ids)
                        if after is not None:
                            afters.append(after)
            except sqlite3.Error:
                # Still unconfirmed in the outbox: published again later, de-duplicated there.
                _LOGGER.exception("cannot record %d broker confirmations", len(batch))
                self._in_flight.difference_update(item.id for item in batch)
                continue
            self._in_flight.difference_update(item.id for item in batch)
            self._wake.set()
            for after in afters:
                after()

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
                self.receive(batch)

    def receive(self, messages: list[Inbound]) -> None:
        """Open and check, store (one transaction for the batch), hand over, then acknowledge.

        The receiver loop's work, public for the benchmarks that drive it without a broker."""
        opened: list[tuple[Inbound, Envelope]] = []
        for message in messages:
            try:
                envelope = self._checked(self._codec.open(message.payload))
            except EnvelopeError as ex:
                # Acknowledge it anyway: a forged message must not be redelivered forever.
                self.poison.refused(ex.reason, message.topic)
                self._acks.ack([message])
                continue
            if envelope.kind in UNSTORED_KINDS:
                self._unstored_received(message, envelope)
            else:
                opened.append((message, envelope))
        if not opened:
            return
        # A batch of receipts only is bookkeeping (hub.store.relay_queue.bookkeeping): lost at a
        # power cut, the partner is asked again by the resend and answers again. Anything else
        # is on disk before its PUBACK. A batch of signals (and receipts) is committed without
        # waiting for the disk too, so delivery reaches the person at once, and acknowledged
        # only once the database's log is synced, off the loop: until then the broker keeps it
        # and delivers it again after a power cut (a process crash loses no commit in WAL mode).
        # Its handler queues nothing but re-receipts, which may leave before the sync. Other
        # kinds (a hello, a visit's touch that composes a signal) commit durably first.
        kinds = {envelope.kind for _, envelope in opened}
        without_waiting = kinds <= {EnvelopeKind.SIGNAL, EnvelopeKind.RECEIPT}
        sync_later = without_waiting and kinds != {EnvelopeKind.RECEIPT}
        try:
            with bookkeeping(self._db) if without_waiting else self._db.transaction():
                afters = [self._commit(envelope) for _, envelope in opened]
        except sqlite3.Error as ex:
            self._store_failed([message for message, _ in opened], ex)
            return
        except Exception:
            self._one_by_one(opened)
            return
        try:
            for after in afters:
                if after is not None:
                    after()
        finally:
            log = f"{self._db.path}-wal" if sync_later else None  # SQLite's write-ahead log
            self._acks.ack([message for message, _ in opened], once_synced=log)

    def _unstored_received(self, message: Inbound, envelope: Envelope) -> None:
        """An UNSTORED_KINDS message: nothing to commit, so acknowledged and handled at once."""
        self._acks.ack([message])
        handler = self._handlers.get(envelope.kind)
        if handler is None:
            self.rejected["unhandled_kind"] += 1
            return
        self.arrival = message.arrival
        try:
            after = handler.received(envelope)
            if after is not None:
                after()
        except Exception as ex:
            self.poison.refused("handler_error", message.topic, f"{envelope.kind} {envelope.id}", error=ex)

    def _checked(self, envelope: Envelope) -> Envelope:
        """The envelope with its body as its kind's schema allows it (EnvelopeError otherwise)."""
        schema = self._schemas.get(envelope.kind)
        if schema is None:
            raise EnvelopeError("unhandled_kind")
        body = checked_body(schema, envelope.body)
        if body is None:
            raise EnvelopeError(f"bad_{envelope.kind.value}")
        return replace(envelope, body=body)

    def _store_failed(self, messages: list[Inbound], ex: sqlite3.Error) -> None:
        # Not acknowledged: retried here, and the broker redelivers them if this hub dies.
        self.rejected["store_failed"] += len(messages)
        more = self.poison.due("store_failed")  # retried every STORE_RETRY_S: one line a minute
        if more is not None:
            _LOGGER.error(
                "cannot store %d relay messages (%s); not acknowledged, retrying%s", len(messages), ex, more
            )
        self._unstored.extend(messages)

    def _one_by_one(self, opened: list[tuple[Inbound, Envelope]]) -> None:
        """A batch a handler raised on: each message in its own transaction, so the one that
        raises is refused as poison (acknowledged, counted ``handler_error``) and the rest land."""
        for message, envelope in opened:
            try:
                with self._db.transaction():
                    after = self._commit(envelope)
            except sqlite3.Error as ex:
                self._store_failed([message], ex)
                continue
            except Exception as ex:
                self.poison.refused(
                    "handler_error", message.topic, f"{envelope.kind} {envelope.id}", error=ex
                )
                self._acks.ack([message])
                continue
            self._acks.ack([message])
            if after is not None:
                after()

    def _commit(self, envelope: Envelope) -> AfterCommit | None:
        """Store one message (in the caller's transaction) through its kind's handler."""
        first_time = self._inbox.first_time(envelope.id, self._clock.now())
        if not first_time:
            self.rejected["duplicate"] += 1
        if envelope.kind is EnvelopeKind.RECEIPT:
            if first_time:
                self._apply_receipt(envelope)
            return None
        handler = self._handlers.get(envelope.kind)
        if handler is None:
            self.rejected["unhandled_kind"] += 1
            return None
        if not first_time:
            self._answering_duplicate = True
            try:
                handler.duplicate(envelope)
            finally:
                self._answering_duplicate = False
            return None
        return handler.received(envelope)

    def _apply_receipt(self, envelope: Envelope) -> None:
        body = envelope.body  # checked by RECEIPT_BODY
        channel = body.get("channel")
        fate, reason = Fate(body["fate"]), body.get("reason") or None
        refs = list(dict.fromkeys([str(body["ref"]), *body.get("also", ())]))
        answered: list[str] = []
        for owner, ids in self._by_owner(refs).items():
            ours = owner.receipts(
                [Receipt(ref, fate, Channel(channel) if channel else None, reason) for ref in ids]
            )
            answered += [ref for ref in ids if ref in ours]
        self._outbox.receipts_arrived(answered)
        if len(answered) < len(refs):
            self.rejected["bad_receipt"] += len(refs) - len(answered)

    def _by_owner(self, message_ids: list[str]) -> dict[KindHandler, list[str]]:
        """Ids grouped by the handler whose kind marked them, in order; ids of no kind left out."""
        groups: dict[KindHandler, list[str]] = {}
        for message_id in message_ids:
            owner = self._owner(message_id)
            if owner is not None:
                groups.setdefault(owner, []).append(message_id)
        return groups

    def _owner(self, message_id: str) -> KindHandler | None:
        """The handler of the kind that marked this id (None: a relay with no signals handler)."""
        return next((handler for prefix, handler in self._owners if message_id.startswith(prefix)), None)


class _OrderedAcks:
    """PUBACKs in the order their messages arrived (MQTT 3.1.1 4.6, MQTT 5 4.6), some of them
    only once SQLite's log is on disk: the syncs run one at a time in one worker thread, and
    while any is pending a later acknowledgement queues behind it, so none overtakes another."""

    def __init__(self, link: MqttLink) -> None:
        self._link = link
        self._pending = 0
        self._worker: ThreadPoolExecutor | None = None

    def ack(self, messages: list[Inbound], *, once_synced: str | None = None) -> None:
        """Acknowledge ``messages`` now, or once the file ``once_synced`` is on disk (the loop
        carries on meanwhile)."""
        if once_synced is None and not self._pending:
            for message in messages:
                self._link.ack(message)
            return
        if self._worker is None:
            self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="relay-sync")
        self._pending += 1
        job = _sync_to_disk if once_synced is not None else _nothing
        future = asyncio.get_running_loop().run_in_executor(self._worker, job, once_synced or "")

        def done(finished: asyncio.Future[None]) -> None:
            self._pending -= 1
            error = None if finished.cancelled() else finished.exception()
            if finished.cancelled() or error is not None:
                # Not acknowledged: the broker delivers them again, and the inbox knows them.
                _LOGGER.error("cannot sync %d relay messages to disk (%r)", len(messages), error)
                return
            for message in messages:
                self._link.ack(message)

        future.add_done_callback(done)


def _nothing(path: str) -> None:
    """A place in the worker's queue for an acknowledgement that needs no sync."""
    del path


def _sync_to_disk(path: str) -> None:
    """fsync a file SQLite wrote (its log): what it committed without waiting is on disk after.

    fsync flushes the file, whichever descriptor names it; opened anew each time, as SQLite may
    replace the log file."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
